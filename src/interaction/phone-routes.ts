import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { AccountStore } from '../accounts/store.js';
import type { Logger } from '../log.js';
import { interactionPath } from '../oidc/routes.js';
import { renderMessage } from '../pages/message-page.js';
import { languageOf } from '../pages/language.js';
import type { WeChatApp } from '../wechat/client.js';
import { detectBrowser } from '../wechat/user-agent.js';
import { CONFIRM_WINDOW_MS, type PhoneLink, type PhoneLinks } from './phone-links.js';
import type { StateStore } from './states.js';
import type { OfficialAccountRedirect } from './wechat-redirect.js';
import type { WeChatLogin } from './wechat-login.js';
import { handleWeChatFailure } from './wechat-failure.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What the metrics count of a desktop sign-in confirmed on a phone. */
export type PhoneOutcome = 'shown' | 'scanned' | 'allowed' | 'denied' | 'expired';

export interface PhoneDeps {
  provider: () => Provider;
  links: PhoneLinks;
  states: StateStore;
  login: WeChatLogin;
  accounts: AccountStore;
  wechatApp: WeChatApp;
  officialAccount: OfficialAccountRedirect;
  issuer: string;
  logger: Logger;
  /** The interaction behind the request's cookie (the computer's), or an "expired" page. */
  load: (ctx: Context) => Promise<Details | undefined>;
  /** Ends the computer's interaction and resumes its sign-in in the same request. */
  finish: (ctx: Context, details: Details, result: InteractionResults) => Promise<void>;
  clientName: (clientId: string) => Promise<string>;
  onPhone?: (outcome: PhoneOutcome) => void;
}

/** The phone's link, as its QR code holds it. */
export const phoneLinkFor = (issuer: string, uid: string, token: string) => `${issuer}${interactionPath(uid)}/phone/${token}`;

/** The cookie that says this phone signed in for this link (the confirmation's proof). */
const phoneCookie = (token: string) => `phone.${token.slice(0, 16)}`;

/**
 * A desktop sign-in through the Official Account, confirmed on a phone: the computer shows a
 * QR code of a short-lived link (login page); WeChat on the phone opens it, goes through the
 * Official Account's authorization and asks "sign in to <app> on a computer?"; the computer,
 * polling, continues the sign-in in its own browser once the phone has answered. The phone
 * never holds the computer's interaction cookie, the app's code or its tokens.
 */
export function addPhoneRoutes(router: Router, deps: PhoneDeps): void {
  const { links, states, login, logger } = deps;
  const counted = (outcome: PhoneOutcome, fields: Record<string, unknown>) => {
    deps.onPhone?.(outcome);
    logger.info({ event: 'phone_signin', outcome, ...fields }, `desktop sign-in on a phone: ${outcome}`);
  };
  const noStore = (ctx: Context) => ctx.set('Cache-Control', 'no-store');

  // The computer, every second or two: how far the phone got. Answered only to the browser
  // holding the interaction's cookie (load refuses any other).
  router.get('/interaction/:uid/phone/status', async (ctx) => {
    noStore(ctx);
    const details = await deps.load(ctx);
    if (!details) return;
    const link = await links.ofInteraction(details.uid);
    const status = statusForComputer(link);
    if (status === 'expired' && link) counted('expired', { uid: details.uid });
    ctx.body = { status };
  });

  // The computer takes the phone's answer (once) and goes on to the app with it.
  router.get('/interaction/:uid/phone/continue', async (ctx) => {
    noStore(ctx);
    const details = await deps.load(ctx);
    if (!details) return;
    const link = await links.take(details.uid);
    if (!link) return ctx.redirect(interactionPath(details.uid)); // not answered: back to the QR code
    if (link.status === 'allowed' && link.accountId) return deps.finish(ctx, details, { login: { accountId: link.accountId } });
    return deps.finish(ctx, details, { error: 'access_denied', error_description: 'The person denied the sign-in on their phone' });
  });

  // The phone opens the link: WeChat's browser only, once, within two minutes.
  router.get('/interaction/:uid/phone/:token', async (ctx) => {
    noStore(ctx);
    const { uid = '', token = '' } = ctx.params;
    if (detectBrowser(ctx.get('User-Agent')) !== 'wechat') return renderMessage(ctx, 'phone_open_in_wechat');
    // The computer may have cancelled meanwhile: then there is nothing to confirm.
    if (!(await deps.provider().Interaction.find(uid))) return renderMessage(ctx, 'phone_link_invalid');
    const link = await links.scan(uid, token);
    if (!link) return renderMessage(ctx, 'phone_link_invalid');
    counted('scanned', { uid });
    ctx.redirect(await officialAccountFor(link));
  });

  // Again to WeChat for a link scanned already (after a snapshot page's "try again").
  router.get('/interaction/:uid/phone/:token/wechat', async (ctx) => {
    noStore(ctx);
    const link = await links.find(ctx.params.uid ?? '', ctx.params.token ?? '');
    if (!link || link.status !== 'scanned' || link.expiresAt <= Date.now()) return renderMessage(ctx, 'phone_link_invalid');
    ctx.redirect(await officialAccountFor(link, 'snsapi_userinfo'));
  });

  // WeChat sends the phone back: sign in as on the web, then ask.
  router.get('/interaction/:uid/phone/:token/callback', async (ctx) => {
    noStore(ctx);
    const { uid = '', token = '' } = ctx.params;
    const code = typeof ctx.query.code === 'string' ? ctx.query.code : '';
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const spent = await states.consume(state, uid);
    // Only a state issued for the Official Account, for this interaction, comes back here.
    if (!spent || spent.appId !== deps.wechatApp.appId) return renderMessage(ctx, 'phone_link_invalid');
    const link = await links.find(uid, token);
    if (!link || link.status !== 'scanned') return renderMessage(ctx, 'phone_link_invalid');
    if (!code) {
      await links.answer(uid, token, 'denied');
      counted('denied', { uid, at: 'wechat' });
      return renderMessage(ctx, 'phone_denied');
    }
    try {
      const outcome =
        spent.scope === 'snsapi_base' ? await login.completeSilent(deps.wechatApp, code) : await login.complete(deps.wechatApp, code);
      if (outcome.kind === 'unknown') return ctx.redirect(await officialAccountFor(link, 'snsapi_userinfo'));
      const retry = `${interactionPath(uid)}/phone/${token}/wechat`;
      if (outcome.kind === 'snapshot') {
        return renderMessage(ctx, 'snapshot_user', { action: { href: retry, zh: '重新授权', en: 'Authorize again', wechat: true } });
      }
      if (outcome.kind === 'blocked') {
        await links.answer(uid, token, 'denied');
        counted('denied', { uid, accountId: outcome.account.id, reason: 'blocked' });
        return renderMessage(ctx, 'account_blocked');
      }
      const asking = await links.signedIn(uid, token, outcome.account.id);
      if (!asking) return renderMessage(ctx, 'phone_link_invalid');
      ctx.cookies.set(phoneCookie(token), '1', {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        path: `${interactionPath(uid)}/phone/${token}`,
        maxAge: CONFIRM_WINDOW_MS,
      });
      return confirmPage(ctx, asking, outcome.account.nickname);
    } catch (error) {
      return handleWeChatFailure(ctx, error, { uid, retry: `${interactionPath(uid)}/phone/${token}/wechat`, logger });
    }
  });

  // The phone's answer. Only the phone that signed in for this link may give it (its cookie).
  router.post('/interaction/:uid/phone/:token/confirm', bodyParser({ enableTypes: ['form'] }), async (ctx) => {
    noStore(ctx);
    const { uid = '', token = '' } = ctx.params;
    if (ctx.cookies.get(phoneCookie(token), { signed: true }) !== '1') return renderMessage(ctx, 'phone_link_invalid');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const answer = body.action === 'allow' ? 'allowed' : 'denied';
    const link = await links.answer(uid, token, answer);
    if (!link) return renderMessage(ctx, 'phone_link_invalid');
    ctx.cookies.set(phoneCookie(token), null, { path: `${interactionPath(uid)}/phone/${token}` });
    counted(answer, { uid, accountId: link.accountId });
    return renderMessage(ctx, answer === 'allowed' ? 'phone_allowed' : 'phone_denied');
  });

  /** The Official Account's authorization for the phone, coming back to this link's callback. */
  function officialAccountFor(link: PhoneLink, scope = deps.officialAccount.firstScope()): Promise<string> {
    return deps.officialAccount.url(link.uid, scope, `${phoneLinkFor(deps.issuer, link.uid, link.token)}/callback`);
  }

  async function confirmPage(ctx: Context, link: PhoneLink, nickname: string): Promise<void> {
    const interaction = await deps.provider().Interaction.find(link.uid);
    const clientId = interaction ? String(interaction.params.client_id) : '';
    const lang = languageOf(ctx);
    await ctx.render('phone-confirm', {
      appName: await deps.clientName(clientId),
      nickname,
      matchCode: link.matchCode,
      browser: link.desktopBrowser,
      // Beijing time, as WeChat shows it; the phone and the computer are the same person's.
      requested: new Date(link.createdAt).toLocaleTimeString(lang === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai' }),
      confirmHref: `${interactionPath(link.uid)}/phone/${link.token}/confirm`,
    });
  }
}

/** What the computer's page is told: the phone's answer is ready (`done`), or how far it got. */
function statusForComputer(link: PhoneLink | undefined, now = Date.now()): 'waiting' | 'scanned' | 'done' | 'expired' {
  if (!link) return 'expired';
  if (link.status === 'allowed' || link.status === 'denied') return 'done';
  if (link.expiresAt <= now) return 'expired';
  return link.status === 'waiting' ? 'waiting' : 'scanned';
}
