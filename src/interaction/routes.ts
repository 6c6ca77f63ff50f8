import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';
import type { AccountStore } from '../accounts/store.js';
import type { WeChatApp } from '../wechat/client.js';
import type { WeChatScope } from '../wechat/authorize-url.js';
import type { Logger } from '../log.js';
import { detectBrowser } from '../wechat/user-agent.js';
import { qrConnectUrl } from '../wechat/authorize-url.js';
import { wechatCallbackFor, type OfficialAccountRedirect } from './wechat-redirect.js';
import { renderMessage } from '../pages/message-page.js';
import { renderExpired, rememberSigninApp } from '../oidc/expired-page.js';
import { consentItems } from './consent-items.js';
import type { StateStore } from './states.js';
import { interactionPath } from '../oidc/routes.js';
import { saveInteractionResult } from '../oidc/internals.js';
import type { WeChatLogin } from './wechat-login.js';
import { handleWeChatFailure } from './wechat-failure.js';
import { resumeHere, type ProviderHandler } from './resume-here.js';
import QRCode from 'qrcode';
import { describeBrowser, type PhoneLinks } from './phone-links.js';
import { addPhoneRoutes, phoneLinkFor, type PhoneOutcome } from './phone-routes.js';

export interface InteractionDeps {
  /** The provider in use at this moment (it is rebuilt when the signing keys change). */
  provider: () => Provider;
  /** Hands a request to that provider: a finished login step resumes the sign-in in place. */
  resume: ProviderHandler;
  states: StateStore;
  login: WeChatLogin;
  accounts: AccountStore;
  /** The Official Account: sign-in inside WeChat. */
  wechatApp: WeChatApp;
  /** The Official Account's authorization links (state, scope, callback). */
  officialAccount: OfficialAccountRedirect;
  /** The Open Platform website app: QR sign-in on other browsers; undefined → none. */
  webApp?: WeChatApp;
  openOrigin: string;
  issuer: string;
  logger: Logger;
  /** Told the outcome of every WeChat callback, as logged with `event: "signin"` (metrics). */
  onSignin?: (outcome: SigninOutcome) => void;
  /** Desktop sign-ins confirmed on a phone (phone-routes.ts). */
  phoneLinks: PhoneLinks;
  onPhone?: (outcome: PhoneOutcome) => void;
  /** The sandbox plays WeChat: the login page also shows the phone's link as a link. */
  sandbox?: boolean;
}

export type SigninOutcome = 'registered' | 'signed_in' | 'refused' | 'snapshot' | 'blocked' | 'state_invalid' | 'wechat_error';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Interaction pages must never be cached: each holds a single-use step of one sign-in. */
async function noStore(ctx: Context, next: Next): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  await next();
}

/**
 * The login step of oidc-provider: the routes it sends the browser to while a sign-in is in
 * progress. Their paths stay under /interaction/:uid because oidc-provider scopes the
 * interaction cookie to that path (WeChat's callback included).
 */
export function interactionRouter(deps: InteractionDeps): Router {
  const { provider, states, login, logger, officialAccount } = deps;
  const router = new Router();

  /** Counts an outcome next to its `event: "signin"` log line. */
  function counted(outcome: SigninOutcome): void {
    deps.onSignin?.(outcome);
  }

  /** The interaction behind this request's cookie, or an "expired" page when there is none. */
  async function load(ctx: Context): Promise<Details | undefined> {
    try {
      const details = await provider().interactionDetails(ctx.req, ctx.res);
      if (details.uid === ctx.params.uid) return details;
    } catch (error) {
      if (!(error instanceof errors.SessionNotFound)) throw error;
    }
    await renderExpired(ctx, provider(), { uid: ctx.params.uid });
    return undefined;
  }

  /**
   * Ends the interaction this request loaded with `result` (kept with what an earlier
   * interaction of the same authorization settled, such as its login when consent follows);
   * where the browser goes next. See internals.ts.
   */
  function endInteraction(details: Details, result: InteractionResults): Promise<string> {
    return saveInteractionResult(details, result);
  }

  /** Ends the interaction and resumes the authorization in this same request (resume-here.ts). */
  async function finish(ctx: Context, details: Details, result: InteractionResults): Promise<void> {
    const returnTo = await endInteraction(details, result);
    await resumeHere(ctx, provider(), deps.resume, details.uid, returnTo);
  }

  async function redirectToWeChat(ctx: Context, details: Details, scope?: WeChatScope): Promise<void> {
    ctx.redirect(await officialAccount.url(details.uid, scope));
  }

  /** WeChat's QR page for the website app; the same callback finishes it (the state says which app). */
  async function redirectToQr(ctx: Context, details: Details, webApp: WeChatApp): Promise<void> {
    const state = await states.issue({ uid: details.uid, appId: webApp.appId, scope: 'snsapi_login' });
    ctx.redirect(
      qrConnectUrl({ openOrigin: deps.openOrigin, appId: webApp.appId, redirectUri: wechatCallbackFor(deps.issuer, details.uid), state }),
    );
  }

  /**
   * The sign-in page outside WeChat: WeChat's own QR sign-in first when there is a website
   * app, and a QR code of ours for the Official Account, scanned and confirmed with WeChat on a
   * phone (phone-routes.ts): a new link at each showing. No Official Account link for this
   * browser itself (WeChat refuses to open one in any other browser, WeChat Work's included).
   */
  async function loginPage(ctx: Context, details: Details): Promise<void> {
    const { uid, params } = details;
    const link = await deps.phoneLinks.issue(uid, describeBrowser(ctx.get('User-Agent')));
    const phoneUrl = phoneLinkFor(deps.issuer, uid, link.token);
    deps.onPhone?.('shown');
    await ctx.render('login', {
      app: await clientView(String(params.client_id)),
      wechatHref: deps.webApp ? `${interactionPath(uid)}/qr` : undefined,
      abortHref: `${interactionPath(uid)}/abort`,
      phone: {
        qr: await QRCode.toString(phoneUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
        matchCode: link.matchCode,
        statusHref: `${interactionPath(uid)}/phone/status`,
        continueHref: `${interactionPath(uid)}/phone/continue`,
        retryHref: interactionPath(uid),
        // The sandbox plays the phone too: its link opened in a browser playing WeChat is a scan.
        sandboxHref: deps.sandbox ? phoneUrl : undefined,
      },
    });
  }

  async function clientView(clientId: string) {
    const client = await provider().Client.find(clientId);
    return { name: client?.clientName ?? clientId, logoUri: client?.logoUri };
  }

  router.get('/interaction/:uid', noStore, async (ctx) => {
    const inWeChat = detectBrowser(ctx.get('User-Agent')) === 'wechat';
    const details = await load(ctx);
    if (!details) return;
    const { uid, prompt, params } = details;
    rememberSigninApp(ctx, uid, String(params.client_id));

    if (prompt.name === 'login') {
      // Inside WeChat there is nothing to choose: go straight to WeChat's authorization.
      if (inWeChat) return redirectToWeChat(ctx, details);
      return loginPage(ctx, details);
    }
    if (prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      const account = accountId ? await deps.accounts.findById(accountId) : undefined;
      const missing = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
      return ctx.render('consent', {
        app: await clientView(String(params.client_id)),
        account,
        items: consentItems(missing.length ? missing : (typeof params.scope === 'string' ? params.scope : '').split(' ').filter(Boolean)),
        confirmHref: `${interactionPath(uid)}/confirm`,
        abortHref: `${interactionPath(uid)}/abort`,
      });
    }
    await renderMessage(ctx, 'request_invalid', { detail: `unsupported prompt ${prompt.name}` });
  });

  router.get('/interaction/:uid/wechat', noStore, async (ctx) => {
    const details = await load(ctx);
    if (!details) return;
    if (details.prompt.name !== 'login') return ctx.redirect(interactionPath(details.uid));
    // WeChat Work cannot open an Official Account link: QR sign-in, or the page explaining.
    if (detectBrowser(ctx.get('User-Agent')) === 'wxwork') {
      return deps.webApp ? redirectToQr(ctx, details, deps.webApp) : loginPage(ctx, details);
    }
    await redirectToWeChat(ctx, details);
  });

  router.get('/interaction/:uid/qr', noStore, async (ctx) => {
    const details = await load(ctx);
    if (!details) return;
    if (details.prompt.name !== 'login' || !deps.webApp) return ctx.redirect(interactionPath(details.uid));
    await redirectToQr(ctx, details, deps.webApp);
  });

  router.get('/interaction/:uid/wechat/callback', noStore, async (ctx) => {
    const code = typeof ctx.query.code === 'string' ? ctx.query.code : '';
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const details = await load(ctx);
    if (!details) return;
    const { uid } = details;
    const retry = interactionPath(uid);
    // The state is checked and spent before anything else of the callback: a replayed or
    // foreign callback stops here, whatever else it carries.
    const spent = await states.consume(state, uid);
    if (!spent) {
      logger.warn({ event: 'signin', outcome: 'state_invalid', uid }, 'WeChat callback with an unknown, spent or foreign state');
      counted('state_invalid');
      return renderMessage(ctx, 'state_invalid', { action: { href: retry, zh: '重新登录', en: 'Sign in again', wechat: true } });
    }
    if (!code) {
      logger.info({ event: 'signin', outcome: 'refused', uid }, 'the person refused at WeChat');
      counted('refused');
      return finish(ctx, details, { error: 'access_denied', error_description: 'The person refused the sign-in at WeChat' });
    }

    try {
      // The state was issued for one app: its code is exchanged with that app's credentials.
      const app = deps.webApp && spent.appId === deps.webApp.appId ? deps.webApp : deps.wechatApp;
      const outcome =
        spent.scope === 'snsapi_base' ? await login.completeSilent(app, code) : await login.complete(app, code, details.session?.uid);
      if (outcome.kind === 'unknown') {
        // Not known under this app: ask WeChat for the profile (one more redirect, with WeChat's prompt).
        logger.info({ event: 'signin_silent_unknown', uid }, 'silent sign-in found nobody; asking for the profile');
        return redirectToWeChat(ctx, details, 'snsapi_userinfo');
      }
      if (outcome.kind === 'snapshot') {
        logger.info({ event: 'signin', outcome: 'snapshot', uid }, 'snapshot user; nothing registered');
        counted('snapshot');
        return renderMessage(ctx, 'snapshot_user', { action: { href: retry, zh: '重新登录', en: 'Sign in again', wechat: true } });
      }
      if (outcome.kind === 'blocked') {
        logger.info({ event: 'signin', outcome: 'blocked', uid, accountId: outcome.account.id }, 'disabled account');
        counted('blocked');
        // The interaction ends here with access_denied; the page says why, and its button
        // takes the person on to the app, which receives the error.
        const back = await endInteraction(details, { error: 'access_denied', error_description: 'This account is blocked' });
        return renderMessage(ctx, 'account_blocked', { action: { href: back, zh: '返回应用', en: 'Back to the app' } });
      }
      const result = outcome.registered ? 'registered' : 'signed_in';
      logger.info({ event: 'signin', outcome: result, uid, accountId: outcome.account.id }, 'WeChat sign-in');
      counted(result);
      return finish(ctx, details, { login: { accountId: outcome.account.id } });
    } catch (error) {
      return handleWeChatFailure(ctx, error, { uid, retry, logger, onSignin: counted });
    }
  });

  addPhoneRoutes(router, {
    provider,
    links: deps.phoneLinks,
    states,
    login,
    accounts: deps.accounts,
    wechatApp: deps.wechatApp,
    officialAccount,
    issuer: deps.issuer,
    logger,
    load,
    finish,
    clientName: async (clientId) => (await clientView(clientId)).name,
    onPhone: deps.onPhone,
  });

  router.post('/interaction/:uid/confirm', noStore, async (ctx) => {
    const details = await load(ctx);
    if (!details) return;
    const { prompt, params, session } = details;
    if (prompt.name !== 'consent' || !session?.accountId) return ctx.redirect(interactionPath(details.uid));

    const { Grant } = provider();
    const grant = details.grantId
      ? await Grant.find(details.grantId)
      : new Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    if (!grant) return renderMessage(ctx, 'interaction_expired');
    const scopes = prompt.details.missingOIDCScope as string[] | undefined;
    if (scopes?.length) grant.addOIDCScope(scopes.join(' '));
    const claims = prompt.details.missingOIDCClaims as string[] | undefined;
    if (claims?.length) grant.addOIDCClaims(claims);
    const resourceScopes = prompt.details.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [indicator, list] of Object.entries(resourceScopes ?? {})) grant.addResourceScope(indicator, list.join(' '));
    const grantId = await grant.save();
    logger.info({ event: 'consent', outcome: 'allowed', uid: details.uid, clientId: params.client_id }, 'consent given');
    await finish(ctx, details, { consent: { grantId } });
  });

  router.post('/interaction/:uid/abort', noStore, async (ctx) => {
    const details = await load(ctx);
    if (!details) return;
    logger.info({ event: 'consent', outcome: 'denied', uid: details.uid, clientId: details.params.client_id }, 'the person cancelled');
    await finish(ctx, details, { error: 'access_denied', error_description: 'The person denied the request' });
  });

  return router;
}
