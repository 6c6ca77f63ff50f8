import type { Context, Middleware } from 'koa';
import type { Logger } from '../log.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { renderMessage } from '../pages/message-page.js';
import { RETRY_AFTER_S, UNAVAILABLE_ANSWER } from './outage.js';
import { answersWithPages } from './routes.js';
import { GrantGone } from './send-writes.js';

/**
 * The outermost middleware of oidc-provider's app: anything thrown past oidc-provider's own
 * error handling (our middlewares around it, such as the WeChat state stored on the way to
 * WeChat) gets a proper answer instead of Koa's plain-text 500. A program gets
 * `503 temporarily_unavailable` (database away) or `500 server_error` as JSON; a browser gets
 * the matching page. A redirect prepared before the failure is dropped: it would lead to a
 * step whose data is not stored.
 */
export function providerErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.remove('Location');
      if (error instanceof GrantGone) return grantGone(ctx, logger);
      const unavailable = isDatabaseUnavailable(error);
      const { name, code } = error as { name?: string; code?: string };
      logger.error({ event: unavailable ? 'database_unavailable' : 'unhandled', name, code, path: ctx.path }, 'provider request failed');
      if (answersWithPages(ctx.path)) {
        await renderMessage(ctx, unavailable ? 'service_unavailable' : 'server_error');
        return;
      }
      ctx.status = unavailable ? 503 : 500;
      ctx.set('Cache-Control', 'no-store');
      if (unavailable) ctx.set('Retry-After', String(RETRY_AFTER_S));
      ctx.body = unavailable
        ? { ...UNAVAILABLE_ANSWER }
        : { error: 'server_error', error_description: 'the request could not be completed' };
    }
  };
}

/**
 * The request's grant was revoked while it ran (a simultaneous reuse of its code, a block):
 * nothing it issued was stored. A program is told `invalid_grant`, as for any revoked grant;
 * a browser that was being sent back to its app gets the "sign in again" page.
 */
async function grantGone(ctx: Context, logger: Logger): Promise<void> {
  logger.info({ event: 'grant_gone', path: ctx.path }, 'grant revoked while the request ran; nothing issued');
  if (answersWithPages(ctx.path)) {
    await renderMessage(ctx, 'interaction_expired');
    return;
  }
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
}
