import Router from '@koa/router';
import * as oidc from 'openid-client';
import type { Context } from 'koa';
import type { Logger } from '../log.js';
import { DEMO_CLIENT_ID } from '../config/clients.js';

interface DemoSession {
  claims: Record<string, unknown>;
  idToken: string;
}

/**
 * A tiny relying party living on the same server, so a newcomer can watch a whole sign-in:
 * it talks to the provider only through standard OpenID Connect (openid-client), exactly as
 * a separate app would. Its per-login secrets (PKCE verifier, state, nonce) and then its
 * session (the claims and ID token) sit in signed, short-lived cookies.
 */
export function demoRouter(options: { issuer: string; logger: Logger }): Router {
  const router = new Router();
  const redirectUri = `${options.issuer}/demo/callback`;
  let discovered: Promise<oidc.Configuration> | undefined;

  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(new URL(options.issuer), DEMO_CLIENT_ID, undefined, oidc.None(), {
        execute: options.issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [],
      })
      .catch((error: unknown) => {
        discovered = undefined; // try again on the next visit
        throw error;
      });
    return discovered;
  }

  // What the demo remembers of a finished sign-in, as a real app keeps its own session: the
  // claims to show and the ID token to hint the logout with. Signed, so it cannot be forged.
  const SESSION = 'demo_session';
  const sessionCookie = { signed: true, httpOnly: true, sameSite: 'lax', path: '/demo', maxAge: 60 * 60 * 1000 } as const;
  function session(ctx: Context): DemoSession | undefined {
    const raw = ctx.cookies.get(SESSION, { signed: true });
    if (!raw) return undefined;
    try {
      return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as DemoSession;
    } catch {
      return undefined;
    }
  }

  router.get('/demo', async (ctx) => {
    const error = typeof ctx.query.error === 'string' ? ctx.query.error : undefined;
    ctx.set('Cache-Control', 'no-store');
    await ctx.render('demo', { claims: error ? undefined : session(ctx)?.claims, error, logoutHref: '/demo/logout' });
  });

  router.get('/demo/logout', async (ctx) => {
    const saved = session(ctx);
    ctx.cookies.set(SESSION, null, { path: '/demo' });
    if (!saved) return ctx.redirect('/demo');
    const config = await configuration();
    ctx.redirect(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: saved.idToken,
        post_logout_redirect_uri: `${options.issuer}/demo`,
      }).href,
    );
  });

  router.get('/demo/login', async (ctx) => {
    const config = await configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    ctx.cookies.set('demo_rp', JSON.stringify({ verifier, state, nonce }), {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/demo',
      maxAge: 30 * 60 * 1000,
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
      const error = typeof ctx.query.error === 'string' ? ctx.query.error : 'login_expired';
      return ctx.redirect(`/demo?error=${encodeURIComponent(error)}`);
    }
    const { verifier, state, nonce } = JSON.parse(saved) as { verifier: string; state: string; nonce: string };
    ctx.cookies.set('demo_rp', null, { path: '/demo' });
    const config = await configuration();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(ctx.href), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      const claims = tokens.claims() ?? {};
      const kept: DemoSession = { claims, idToken: tokens.id_token ?? '' };
      // base64url: a cookie value may only hold ASCII, and nicknames are any Unicode.
      ctx.cookies.set(SESSION, Buffer.from(JSON.stringify(kept)).toString('base64url'), sessionCookie);
      // Post/redirect/get: the callback URL holds a spent code; /demo can be reloaded.
      ctx.redirect('/demo');
    } catch (error) {
      options.logger.warn(
        { event: 'demo_callback_failed', name: (error as Error).name, message: (error as Error).message },
        'demo sign-in failed',
      );
      ctx.redirect('/demo?error=invalid_callback');
    }
  });

  return router;
}
