import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { KnexAdapter } from './adapter.js';

/** `/auth/:uid`: the browser back from the login step, the sign-in resuming. */
const RESUME = /^\/auth\/([A-Za-z0-9_-]{1,64})$/;

/**
 * When a sign-in resumes, oidc-provider reads the browser's session first (by the cookie)
 * and the interaction second (by the path), two statements. The interaction names its
 * session, so reading the interaction first, before oidc-provider runs, brings the session
 * with it in one statement (the adapter's read-ahead), and both of oidc-provider's reads
 * are answered from what it read. Runs inside the request scope; a failure here is left to
 * oidc-provider's own read to meet and report.
 */
export function readResumedInteractionFirst(provider: Provider): Middleware {
  return async (ctx, next) => {
    const uid = ctx.method === 'GET' ? RESUME.exec(ctx.path)?.[1] : undefined;
    if (uid) await (provider.Interaction.adapter as Partial<KnexAdapter>).findAhead?.(uid).catch(() => undefined);
    await next();
  };
}

/**
 * A sign-in starting at `GET /auth`: oidc-provider reads the browser's session (by its
 * cookie), then the grant that session holds for the app asking, two statements. The
 * session names that grant only inside its payload, so one statement reading both needs the
 * app's id, known here from the query. The cookie's value is only a key to read by: whether
 * it is genuine (signed) is still oidc-provider's to check, and it reads nothing it did not
 * verify, read ahead or not.
 */
export function readSessionWithGrantFirst(provider: Provider): Middleware {
  const cookie = provider.cookieName('session');
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const id = ctx.cookies.get(cookie);
      const clientId = ctx.query.client_id;
      if (id && typeof clientId === 'string' && clientId) {
        await (provider.Session.adapter as Partial<KnexAdapter>).findSessionAhead?.(id, clientId).catch(() => undefined);
      }
    }
    await next();
  };
}
