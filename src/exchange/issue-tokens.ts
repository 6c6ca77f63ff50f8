import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import { signIdToken } from '../oidc/internals.js';

const ISSUED_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The grant type tokens issued here carry (`gty`); a refresh appends ` refresh_token`. */
const GTY = 'token_exchange';

/**
 * Issues what a browser sign-in's code would have: a grant for the scopes, an access token,
 * a refresh token when the client may refresh, and an ID token with the same claims (as
 * oidc-provider's own grants do, lib/actions/grants; models used as its documentation on
 * custom grant types says). The answer is RFC 8693's (§2.2.1), with `id_token` beside it.
 */
export async function issueExchangeTokens(ctx: KoaContextWithOIDC, account: Account, scopes: string[]): Promise<void> {
  const { provider } = ctx.oidc;
  const client = ctx.oidc.client!;
  const { accountId } = account;
  ctx.oidc.entity('Account', account);
  const scope = scopes.join(' ');

  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const at = new provider.AccessToken({ accountId, client, grantId, gty: GTY, scope });
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  let refreshToken: string | undefined;
  if (client.grantTypeAllowed('refresh_token')) {
    const rt = new provider.RefreshToken({ accountId, client, grantId, gty: GTY, scope, rotations: 0, authTime: nowSeconds() });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  let idToken: string | undefined;
  if (scopes.includes('openid')) {
    const claims = await account.claims('id_token', scope, {}, []);
    idToken = await signIdToken(ctx, claims, scope, { auth_time: nowSeconds() });
  }

  ctx.status = 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    access_token: accessToken,
    issued_token_type: ISSUED_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: at.expiration,
    scope,
    ...(idToken ? { id_token: idToken } : {}),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
