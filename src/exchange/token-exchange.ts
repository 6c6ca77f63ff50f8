import { errors, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import { TOKEN_EXCHANGE_GRANT } from '../config/clients.js';
import type { Logger } from '../log.js';
import type { LoginOutcome, WeChatLogin } from '../interaction/wechat-login.js';
import type { SigninOutcome } from '../interaction/routes.js';
import type { WeChatApp } from '../wechat/client.js';
import { WeChatError } from '../wechat/errors.js';
import { issueExchangeTokens } from './issue-tokens.js';

export { TOKEN_EXCHANGE_GRANT };

/** The WeChat codes the token endpoint takes, by `subject_token_type`. */
export const WECHAT_CODE_TYPES = {
  'urn:wechat:token-type:js-code': 'mini', // a mini-program's wx.login code (/sns/jscode2session)
  'urn:wechat:token-type:app-code': 'mobile', // a mobile app's WeChat SDK code (/sns/oauth2/access_token)
} as const;
type CodeKind = (typeof WECHAT_CODE_TYPES)[keyof typeof WECHAT_CODE_TYPES];

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The request parameters of the grant, besides grant_type and the client's authentication. */
export const TOKEN_EXCHANGE_PARAMETERS = ['subject_token', 'subject_token_type', 'scope', 'requested_token_type'];
/** How long an app should wait before asking again with a new code while WeChat is busy. */
const BUSY_RETRY_AFTER_S = 2;

interface Options {
  apps: Partial<Record<CodeKind, WeChatApp>>;
  login: WeChatLogin;
  /** The provider's own `findAccount`: the claims an ID token of a browser sign-in has. */
  findAccount: FindAccount;
  logger: Logger;
  onSignin?: (outcome: SigninOutcome) => void;
}

const NAMES: Record<CodeKind, string> = { mini: 'mini-program', mobile: 'mobile app' };

/**
 * OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint, for WeChat codes: a mini-program
 * or a mobile app trades the person's one-time WeChat code for our tokens, and signs in to the
 * same account as on the web (identities tied by unionid, wechat-login.ts). Registered with
 * oidc-provider's `registerGrantType`; oidc-provider has authenticated the client and checked
 * that `grant_types` allows the grant before this runs.
 */
export function wechatCodeExchange({ apps, login, findAccount, logger, onSignin }: Options) {
  return async (ctx: KoaContextWithOIDC): Promise<void> => {
    const { params, client } = ctx.oidc;
    const code = typeof params!.subject_token === 'string' ? params!.subject_token : '';
    const type = typeof params!.subject_token_type === 'string' ? params!.subject_token_type : '';
    if (!code) throw new errors.InvalidRequest('missing required parameter subject_token');
    const kind = (WECHAT_CODE_TYPES as Record<string, CodeKind | undefined>)[type];
    if (!kind) throw new errors.InvalidRequest(`subject_token_type must be ${Object.keys(WECHAT_CODE_TYPES).join(' or ')}`);
    if (params!.requested_token_type && params!.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const app = apps[kind];
    if (!app) throw new errors.InvalidRequest(`this provider takes no ${NAMES[kind]} codes`);
    const allowedApps = client!.metadata().wechat_app_ids as string[] | undefined;
    if (allowedApps && !allowedApps.includes(app.appId)) {
      throw new errors.UnauthorizedClient(`this client may not exchange codes of the WeChat app ${app.appId}`);
    }
    const scopes = requestedScopes(ctx);
    const about = { event: 'token_exchange', client: client!.clientId, app: app.appId, kind };

    let outcome: LoginOutcome;
    try {
      outcome = kind === 'mini' ? await login.completeMini(app, code) : await login.complete(app, code, undefined, { spendOnce: true });
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      onSignin?.('wechat_error');
      const level = error.kind === 'config' ? 'error' : 'warn';
      logger[level](
        { ...about, outcome: 'wechat_error', errcode: error.errcode, kind: error.kind, endpoint: error.endpoint },
        error.message,
      );
      return weChatRefused(ctx, error);
    }
    if (outcome.kind === 'snapshot') {
      onSignin?.('snapshot');
      throw new errors.InvalidGrant('WeChat gave a snapshot user (使用完整服务 first)');
    }
    if (outcome.kind === 'blocked') {
      onSignin?.('blocked');
      logger.warn({ ...about, outcome: 'blocked', accountId: outcome.account.id }, 'blocked account refused');
      throw new errors.InvalidGrant('the account is blocked');
    }
    const account = await findAccount(ctx, outcome.account.id);
    if (!account) throw new errors.InvalidGrant('the account is gone'); // blocked or merged away meanwhile
    onSignin?.(outcome.registered ? 'registered' : 'signed_in');
    logger.info(
      { ...about, outcome: outcome.registered ? 'registered' : 'signed_in', accountId: outcome.account.id },
      'WeChat code exchanged',
    );
    await issueExchangeTokens(ctx, account, scopes);
  };
}

/**
 * The scopes asked for (`openid` when none), each one the client may have: our scopes, or
 * the client's own `scope` when its registration narrows them.
 */
function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const asked = typeof ctx.oidc.params!.scope === 'string' ? ctx.oidc.params!.scope.split(' ').filter(Boolean) : [];
  const scopes = asked.length ? [...new Set(asked)] : ['openid'];
  const allowed = new Set((ctx.oidc.client!.scope ?? 'openid profile offline_access').split(' '));
  const refused = scopes.filter((scope) => !allowed.has(scope));
  if (refused.length) throw new errors.InvalidScope(`requested scope is not allowed: ${refused.join(' ')}`, refused.join(' '));
  return scopes;
}

/**
 * WeChat's answer to the code, as an OAuth error: the code spent or expired, or the person
 * refused by WeChat's risk control, is `invalid_grant` (the app starts again with a new code);
 * WeChat busy or away is `503 temporarily_unavailable` with Retry-After; our own configuration
 * (a wrong AppSecret) is a server error, logged above for the operator.
 */
function weChatRefused(ctx: KoaContextWithOIDC, error: WeChatError): void {
  switch (error.kind) {
    case 'code_invalid':
    case 'token_expired':
    case 'refresh_invalid':
    case 'openid_invalid':
      throw new errors.InvalidGrant('the WeChat code is invalid, expired or already used');
    case 'risky_user':
      throw new errors.InvalidGrant('WeChat refused this user (risk control)');
    case 'busy':
    case 'unavailable':
      ctx.status = 503;
      ctx.set('Retry-After', String(BUSY_RETRY_AFTER_S));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'WeChat is busy; sign in again with a new code' };
      return;
    case 'scope':
    case 'config':
    case 'unknown':
      throw new Error(`WeChat refused the code exchange (${error.kind}${error.errcode === undefined ? '' : `, errcode ${error.errcode}`})`);
  }
}
