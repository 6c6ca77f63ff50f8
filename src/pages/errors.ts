import type { Middleware } from 'koa';
import type { Logger } from '../log.js';
import { renderMessage, retryActionFor } from './message-page.js';
import { isDatabaseUnavailable } from '../db/errors.js';

/**
 * The last line of defence: anything thrown by our routes becomes a plain "something went
 * wrong" page and one log line. No stack or internal message ever reaches the browser.
 */
export function errorPages(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const err = error as { name?: string; message?: string; code?: string; status?: number; expose?: boolean };
      if (err.status && err.status < 500 && err.expose) {
        // A client error Koa already describes safely (e.g. a malformed body).
        ctx.status = err.status;
        await renderMessage(ctx, 'request_invalid', { detail: err.message });
        ctx.status = err.status;
        return;
      }
      if (isDatabaseUnavailable(error)) {
        logger.error({ event: 'database_unavailable', name: err.name, code: err.code, path: ctx.path }, 'database unreachable');
        await renderMessage(ctx, 'service_unavailable', { action: retryActionFor(ctx.path) });
        return;
      }
      logger.error({ event: 'unhandled', name: err.name, code: err.code, path: ctx.path, message: err.message }, 'request failed');
      await renderMessage(ctx, 'server_error');
    }
  };
}
