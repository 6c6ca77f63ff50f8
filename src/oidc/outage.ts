import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/errors.js';

/** How long a relying party should wait before retrying, in seconds. */
export const RETRY_AFTER_S = 5;

/** What a program is told while the database is away: a temporary condition, worth a retry. */
export const UNAVAILABLE_ANSWER = {
  error: 'temporarily_unavailable',
  error_description: 'the service is temporarily unable to handle the request; retry shortly',
} as const;

/**
 * Remembers that a request failed because the database was unreachable. oidc-provider
 * answers every unexpected error with `500 server_error`; its `server_error` event is where
 * the cause is still visible.
 */
export function noteDatabaseOutage(ctx: KoaContextWithOIDC, error: Error): void {
  if (isDatabaseUnavailable(error)) ctx.state.databaseUnavailable = true;
}

/**
 * Turns oidc-provider's `500 server_error` JSON answer for a database outage into
 * `503 temporarily_unavailable` with Retry-After, so relying parties (token, userinfo,
 * introspection, revocation calls) see a temporary condition they can retry, not a bug.
 * HTML pages are handled by the error page renderer instead.
 */
export const databaseOutageAnswers: Middleware = async (ctx, next) => {
  await next();
  if (!ctx.state.databaseUnavailable || ctx.status !== 500 || !ctx.response.is('json')) return;
  ctx.status = 503;
  ctx.set('Retry-After', String(RETRY_AFTER_S));
  ctx.body = { ...UNAVAILABLE_ANSWER };
};
