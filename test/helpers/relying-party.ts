import * as oidc from 'openid-client';
import { WEB_APP_SECRET } from './provider.js';

export interface RelyingParty {
  config: oidc.Configuration;
  clientId: string;
  redirectUri: string;
  /** Starts a sign-in: the URL to send the browser to, and the checks to finish it with. */
  start(
    scope?: string,
    extra?: Record<string, string>,
  ): Promise<{ url: string; checks: { pkceCodeVerifier: string; expectedState: string; expectedNonce: string } }>;
  finish(
    callbackUrl: string,
    checks: { pkceCodeVerifier: string; expectedState: string; expectedNonce: string },
  ): ReturnType<typeof oidc.authorizationCodeGrant>;
}

const CLIENTS = {
  'web-app': { secret: WEB_APP_SECRET, redirectUri: 'http://127.0.0.1:9/callback' },
  'first-party': { secret: 'first-party-secret-0123456789abcdef', redirectUri: 'http://127.0.0.1:9/fp/callback' },
} as const;

/** An app using openid-client exactly as its README says, against the provider under test. */
export async function relyingParty(issuer: string, clientId: keyof typeof CLIENTS = 'web-app'): Promise<RelyingParty> {
  const { secret, redirectUri } = CLIENTS[clientId];
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.ClientSecretBasic(secret), {
    execute: [oidc.allowInsecureRequests],
  });
  return {
    config,
    clientId,
    redirectUri,
    async start(scope = 'openid profile', extra = {}) {
      const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
      const expectedState = oidc.randomState();
      const expectedNonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
        state: expectedState,
        nonce: expectedNonce,
        ...extra,
      });
      return { url: url.href, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
    },
    finish(callbackUrl, checks) {
      return oidc.authorizationCodeGrant(config, new URL(callbackUrl), checks);
    },
  };
}
