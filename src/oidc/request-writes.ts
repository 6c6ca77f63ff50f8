import type { Middleware } from 'koa';
import type { Logger } from '../log.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { inRequestScope } from '../db/request-scope.js';
import { renderMessage } from '../pages/message-page.js';
import { RETRY_AFTER_S } from './outage.js';
import { AlreadyConsumed } from './model-unit.js';

/** oidc-provider's endpoints that answer a browser with pages and redirects; the rest answer JSON. */
const answersWithPages = (path: string) => path === '/auth' || path.startsWith('/auth/') || path.startsWith('/session/end');

/**
 * The outermost middleware of oidc-provider's app: each request runs in a scope whose writes
 * are sent before its answer leaves (see RequestScope). If they cannot be stored, what
 * oidc-provider prepared (a redirect carrying a code, a token response) is replaced: the
 * relying party gets `503 temporarily_unavailable` (database away) or `500 server_error` as
 * JSON, a browser gets the matching page; a code or refresh token that another request spent
 * at the same moment gets `400 invalid_grant`. The same holds for anything thrown past
 * oidc-provider's own error handling, which Koa would otherwise answer in plain text.
 */
export function providerRequestScope(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await inRequestScope(next);
    } catch (error) {
      ctx.remove('Location');
      if (error instanceof AlreadyConsumed) {
        // Another request spent the same code or refresh token at the same moment, and won.
        logger.warn({ event: 'token_reuse', model: error.model, path: ctx.path }, 'a code or refresh token was used twice at once; the second use got nothing');
        ctx.status = 400;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
        return;
      }
      const unavailable = isDatabaseUnavailable(error);
      const { name, code } = error as { name?: string; code?: string };
      logger.error({ event: unavailable ? 'database_unavailable' : 'unhandled', name, code, path: ctx.path }, 'provider request failed; its answer was not sent');
      if (answersWithPages(ctx.path)) {
        await renderMessage(ctx, unavailable ? 'service_unavailable' : 'server_error');
        return;
      }
      ctx.status = unavailable ? 503 : 500;
      ctx.set('Cache-Control', 'no-store');
      if (unavailable) ctx.set('Retry-After', String(RETRY_AFTER_S));
      ctx.body = unavailable
        ? { error: 'temporarily_unavailable', error_description: 'the service is temporarily unable to handle the request; retry shortly' }
        : { error: 'server_error', error_description: 'the request could not be completed' };
    }
  };
}
