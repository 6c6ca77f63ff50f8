import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { resumeCookies } from '../oidc/internals.js';

/** Hands a request to oidc-provider (LiveProvider.handle). */
export type ProviderHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Resumes the authorization in the request that finished the login step, instead of
 * redirecting the browser to `returnTo` (/auth/:uid) for it to come back: the person lands on
 * the app (or the next step) one redirect sooner, which on a phone's network is a round trip.
 *
 * oidc-provider resumes only for the browser that holds its signed resume cookie, scoped to
 * /auth/:uid, which this path does not receive. The request got here with the signed
 * interaction cookie of the same uid (the login step checked it), which binds it to that
 * browser just as well; the resume cookie is added to the request for oidc-provider to find
 * (see internals.ts).
 */
export async function resumeHere(ctx: Context, provider: Provider, handle: ProviderHandler, uid: string, returnTo: string): Promise<void> {
  const { req, res } = ctx;
  const asReceived = { method: req.method, url: req.url, cookie: req.headers.cookie };
  req.method = 'GET';
  req.url = new URL(returnTo).pathname;
  req.headers.cookie = [req.headers.cookie, ...resumeCookies(provider, uid)].filter(Boolean).join('; ');
  ctx.respond = false;
  try {
    await handle(req, res);
  } finally {
    // The request log and the metrics name the request the browser made.
    Object.assign(req, { method: asReceived.method, url: asReceived.url });
    req.headers.cookie = asReceived.cookie;
  }
}
