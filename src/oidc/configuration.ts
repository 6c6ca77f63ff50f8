import type { Configuration, KoaContextWithOIDC, JWK, ClientMetadata } from 'oidc-provider';
import type { Knex } from 'knex';
import { knexAdapterFactory } from './adapter.js';
import { findAccountFor } from './find-account.js';
import { loadExistingGrant } from './existing-grant.js';
import { renderError, logoutSource, postLogoutSuccessSource } from './pages.js';
import { PROVIDER_ROUTES, interactionPath } from './routes.js';
import { TTL } from './ttl.js';
import type { AccountStore } from '../accounts/store.js';

export interface ProviderOptions {
  db: Knex;
  accounts: AccountStore;
  clients: ClientMetadata[];
  signingKeys: JWK[];
  cookieKeys: string[];
  officialAppId: string;
  /** Our public address, for the avatar URLs in `picture`. */
  issuer: string;
  /** PUSHED_AUTHORIZATION_REQUESTS: `/request` on, for clients authenticating with HTTP Basic. */
  pushedAuthorizationRequests: boolean;
}

export function providerConfiguration(options: ProviderOptions): Configuration {
  return {
    adapter: knexAdapterFactory(options.db),
    clients: options.clients,
    jwks: { keys: options.signingKeys },
    cookies: { keys: options.cookieKeys },
    findAccount: findAccountFor(options.accounts, options.officialAppId, options.issuer),
    loadExistingGrant,
    routes: { ...PROVIDER_ROUTES },
    interactions: {
      url: (_ctx: KoaContextWithOIDC, interaction) => interactionPath(interaction.uid),
    },
    // First-party apps mark themselves `skip_consent: true` in the clients file; a
    // mini-program's or mobile app's client may be tied to the WeChat apps whose codes it
    // exchanges (`wechat_app_ids`, exchange/token-exchange.ts). Both were checked when the file
    // was read (config/clients.ts); oidc-provider is told they exist.
    extraClientMetadata: {
      properties: ['skip_consent', 'wechat_app_ids'],
      validator(_ctx, key, value) {
        if (key === 'skip_consent' && value !== undefined && typeof value !== 'boolean') {
          throw new Error('skip_consent must be a boolean');
        }
        if (key === 'wechat_app_ids' && value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
          throw new Error('wechat_app_ids must be a list of WeChat app ids');
        }
      },
    },
    scopes: ['openid', 'profile', 'offline_access'],
    claims: {
      openid: ['sub', 'openid', 'wechat_appid', 'unionid'],
      profile: ['name', 'nickname', 'picture', 'headimgurl'],
    },
    // Put the scope's claims in the ID token itself, code flow included: apps want the
    // nickname and avatar without a userinfo round trip.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    // A client allowed the refresh_token grant gets a refresh token; each use rotates it.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      // Pushed authorization requests let a client store large request objects before anyone
      // signs in: off unless the operator turns them on, and then for clients authenticating
      // with HTTP Basic only (request-size.ts).
      pushedAuthorizationRequests: { enabled: options.pushedAuthorizationRequests, requirePushedAuthorizationRequests: false },
      // An app may look into and revoke only the tokens issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      // …and a token of a blocked or deleted account is inactive, whatever the token says:
      // the account is read at every call (userinfo does the same through findAccount).
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) return false;
          const accountId = 'accountId' in token ? token.accountId : undefined;
          if (!accountId) return true;
          const account = await options.accounts.findById(accountId);
          return account !== undefined && !account.disabled;
        },
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      // Apps with a backchannel_logout_uri get a logout token when the person signs out here
      // (sent by oidc-provider) and when their account is blocked or merged (logout-delivery.ts).
      backchannelLogout: { enabled: true },
    },
    ttl: { ...TTL },
    // oidc-provider's outgoing requests (logout tokens to apps) go to URLs of the operator's
    // own clients file, often on a private network: they are sent as given, without the
    // special-use-address filter oidc-provider may attach (its 2.5 s time limit stays).
    fetch: async (url, options) => globalThis.fetch(url, { ...options, dispatcher: undefined }),
    renderError,
  };
}
