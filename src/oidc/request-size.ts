import type { Middleware } from 'koa';
import { renderMessage } from '../pages/message-page.js';
import { PROVIDER_ROUTES } from './routes.js';

/** An authorization request's parameters, at most: a real one is well under 2 KB. */
const MAX_QUERY_BYTES = 8 * 1024;
const MAX_PARAMETER_CHARS: Record<string, number> = { state: 1024, nonce: 512 };

/**
 * Bounds what one unauthenticated request may make the service store: oidc-provider keeps an
 * authorization request's parameters in its interaction for as long as the sign-in lives, so a
 * 15 KB `state` on every `/auth` would fill the disk. A request past the bounds gets
 * `invalid_request` on a page, before oidc-provider stores anything.
 */
export const boundedAuthorizationRequests: Middleware = async (ctx, next) => {
  if (ctx.path !== PROVIDER_ROUTES.authorization) return next();
  const size = ctx.method === 'POST' ? Number(ctx.get('content-length') || 0) : Buffer.byteLength(ctx.querystring);
  const tooLong = Object.entries(MAX_PARAMETER_CHARS).find(([name, max]) => {
    const value = ctx.query[name];
    return typeof value === 'string' && value.length > max;
  });
  if (size <= MAX_QUERY_BYTES && !tooLong) return next();
  const detail = tooLong
    ? `invalid_request: ${tooLong[0]} is longer than ${tooLong[1]} characters`
    : `invalid_request: the authorization request is larger than ${MAX_QUERY_BYTES} bytes`;
  await renderMessage(ctx, 'request_invalid', { detail });
  ctx.status = 400;
};

/**
 * Pushed authorization requests store up to 56 KB each before anyone signs in: when the
 * operator turns them on, only for a client that authenticates with HTTP Basic, refused
 * before the body is read. A public client (no secret) or another method gets
 * `invalid_client`.
 */
export const authenticatedPushedRequests: Middleware = async (ctx, next) => {
  if (ctx.path !== PROVIDER_ROUTES.pushed_authorization_request || /^basic /i.test(ctx.get('Authorization'))) return next();
  ctx.status = 401;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('WWW-Authenticate', 'Basic realm="pushed authorization requests"');
  ctx.body = { error: 'invalid_client', error_description: 'pushed authorization requests need HTTP Basic client authentication' };
};
