import type { IncomingMessage, ServerResponse } from 'node:http';
import Keygrip from 'keygrip';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

/** Hands a request to oidc-provider (LiveProvider.handle). */
export type ProviderHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const signers = new WeakMap<Provider, Keygrip>();

/**
 * Resumes the authorization in the request that finished the login step, instead of
 * redirecting the browser to `returnTo` (/auth/:uid) for it to come back: the person lands on
 * the app (or the next step) one redirect sooner, and the interaction the step just settled
 * is still in this request's scope, so oidc-provider's reads of it, its session and its
 * account are answered without the database, and its writes go out with the step's own.
 *
 * oidc-provider resumes only for the browser that holds its signed resume cookie, scoped to
 * /auth/:uid, which this path does not receive. The request got here with the signed
 * interaction cookie of the same uid (the login step checked it), which binds it to that
 * browser just as well; the resume cookie is added to the request for oidc-provider to find,
 * signed as the cookies library signs it (https://github.com/pillarjs/cookies: a `.sig`
 * cookie holding the Keygrip signature of `name=value`), with the provider's own keys.
 */
export async function resumeHere(ctx: Context, provider: Provider, handle: ProviderHandler, uid: string, returnTo: string): Promise<void> {
  let signer = signers.get(provider);
  if (!signer) {
    signer = new Keygrip(provider.keys as string[]);
    signers.set(provider, signer);
  }
  const name = provider.cookieName('resume');
  const cookie = `${name}=${uid}`;
  const { req, res } = ctx;
  const asReceived = { method: req.method, url: req.url, cookie: req.headers.cookie };
  req.method = 'GET';
  req.url = new URL(returnTo).pathname;
  req.headers.cookie = [req.headers.cookie, cookie, `${name}.sig=${signer.sign(cookie)}`].filter(Boolean).join('; ');
  ctx.respond = false;
  try {
    await handle(req, res);
  } finally {
    // The request log and the metrics name the request the browser made.
    Object.assign(req, { method: asReceived.method, url: asReceived.url });
    req.headers.cookie = asReceived.cookie;
  }
}
