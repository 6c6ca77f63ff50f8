import Router from '@koa/router';
import * as oidc from 'openid-client';
import type { Logger } from '../log.js';

export const DEMO_CLIENT_ID = 'demo';

/**
 * A tiny relying party living on the same server, so a newcomer can watch a whole sign-in:
 * it talks to the provider only through standard OpenID Connect (openid-client), exactly as
 * a separate app would. Its per-login secrets (PKCE verifier, state, nonce) sit in a signed,
 * short-lived cookie.
 */
export function demoRouter(options: { issuer: string; logger: Logger }): Router {
  const router = new Router();
  const redirectUri = `${options.issuer}/demo/callback`;
  let discovered: Promise<oidc.Configuration> | undefined;

  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc.discovery(new URL(options.issuer), DEMO_CLIENT_ID, undefined, oidc.None(), {
      execute: options.issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [],
    }).catch((error: unknown) => {
      discovered = undefined; // try again on the next visit
      throw error;
    });
    return discovered;
  }

  router.get('/demo', async (ctx) => {
    await ctx.render('demo', { claims: undefined, error: ctx.query.error, errorDescription: ctx.query.error_description });
  });

  router.get('/demo/login', async (ctx) => {
    const config = await configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    ctx.cookies.set('demo_rp', JSON.stringify({ verifier, state, nonce }), {
      signed: true, httpOnly: true, sameSite: 'lax', path: '/demo', maxAge: 30 * 60 * 1000,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    ctx.redirect(url.href);
  });

  router.get('/demo/callback', async (ctx) => {
    const saved = ctx.cookies.get('demo_rp', { signed: true });
    if (typeof ctx.query.error === 'string' || !saved) {
      return ctx.render('demo', {
        claims: undefined,
        error: ctx.query.error ?? 'login_expired',
        errorDescription: ctx.query.error_description ?? 'Start the demo sign-in again.',
      });
    }
    const { verifier, state, nonce } = JSON.parse(saved) as { verifier: string; state: string; nonce: string };
    ctx.cookies.set('demo_rp', null, { path: '/demo' });
    const config = await configuration();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(ctx.href), {
        pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
      });
      const claims = tokens.claims() ?? {};
      const endSession = oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: `${options.issuer}/demo`,
      });
      await ctx.render('demo', { claims, error: undefined, logoutHref: endSession.href });
    } catch (error) {
      options.logger.warn({ event: 'demo_callback_failed', name: (error as Error).name, message: (error as Error).message }, 'demo sign-in failed');
      await ctx.render('demo', { claims: undefined, error: 'invalid_callback', errorDescription: 'Start the demo sign-in again.' });
    }
  });

  return router;
}
