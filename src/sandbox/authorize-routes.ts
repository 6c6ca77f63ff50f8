import { createHash } from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import { WECHAT_STATE } from '../wechat/authorize-url.js';
import { squarePng } from './png.js';
import type { Context } from 'koa';
import type { SandboxGrants, SandboxScope, SandboxSubject } from './grants.js';
import {
  SNAPSHOT_AVATAR_ID,
  avatarUrlFor,
  openidFor,
  randomNickname,
  randomWeChatId,
  type SandboxUser,
  type SandboxUsers,
} from './users.js';

export interface AuthorizeDeps {
  users: SandboxUsers;
  grants: SandboxGrants;
  issuer: string;
  /** The Official Account (connect/oauth2/authorize). */
  appId: string;
  /** The website app (connect/qrconnect); undefined → the sandbox has no QR sign-in. */
  webAppId?: string;
  /** The site allowed in redirect_uri (the app's 网页授权域名); the issuer's own by default. */
  callbackOrigin?: string;
}

interface AuthorizeParams {
  appid: string;
  redirect_uri: string;
  response_type: 'code';
  scope: SandboxScope;
  state: string;
}
/** What WeChat's own error page says; `code` is WeChat's number for it where it has one. */
interface Refusal {
  code?: number;
  zh: string;
  en: string;
}
type Checked = { ok: true; params: AuthorizeParams } | { ok: false; refusal: Refusal };

// WeChat opens the link only with these five first, in this order (wechat.md, "The authorize URL").
const ORDER = ['appid', 'redirect_uri', 'response_type', 'scope', 'state'] as const;
// Appended by several SDKs; WeChat tolerates them after the five.
const TRAILING = new Set(['forcePopup', 'connect_redirect']);
const NOT_IN_ORDER: Refusal = {
  zh: '参数错误',
  en: "The link's parameters are not in WeChat's order (appid, redirect_uri, response_type, scope, state).",
};

/** The raw query string, not a parsed object: a parsed object has already lost the order. */
function checkOrder(rawQuery: string): Record<string, string> | undefined {
  const entries = [...new URLSearchParams(rawQuery)];
  const keys = entries.map(([key]) => key);
  const trailing = keys.slice(ORDER.length);
  const inOrder =
    ORDER.every((key, i) => keys[i] === key) && trailing.every((key) => TRAILING.has(key)) && new Set(trailing).size === trailing.length;
  return inOrder ? Object.fromEntries(entries) : undefined;
}

/** The two ways into WeChat's authorization: inside WeChat, and the QR code on a desktop. */
type Flow = 'official' | 'qr';
const FLOW_PATHS: Record<Flow, string> = { official: '/sandbox/connect/oauth2/authorize', qr: '/sandbox/connect/qrconnect' };

/** Every check WeChat makes before showing its page; used again on the POST. */
function checkParams(values: Record<string, unknown>, deps: AuthorizeDeps, flow: Flow): Checked {
  const get = (key: string): string => (typeof values[key] === 'string' ? values[key] : '');
  const refuse = (refusal: Refusal): Checked => ({ ok: false, refusal });
  const [appid, redirectUri, responseType, scope, state] = ORDER.map(get) as [string, string, string, string, string];
  if (!appid) return refuse({ code: 10012, zh: 'appid 不能为空', en: 'appid is missing.' });
  const known = flow === 'official' ? deps.appId : deps.webAppId;
  if (appid !== known) {
    return refuse({
      zh: 'appid 无效',
      en: known ? `Invalid appid: the sandbox only knows ${known} here.` : 'The sandbox has no website app for QR sign-in.',
    });
  }
  if (!redirectUri) return refuse({ code: 10011, zh: 'redirect_uri 不能为空', en: 'redirect_uri is missing.' });
  const allowed = deps.callbackOrigin ?? deps.issuer;
  if (!sameHost(redirectUri, allowed)) {
    return refuse({
      code: 10003,
      zh: 'redirect_uri 域名与后台配置不一致',
      en: `redirect_uri must be an absolute URL on ${new URL(allowed).host}.`,
    });
  }
  if (responseType !== 'code') return refuse({ zh: '参数错误', en: 'response_type must be code.' });
  if (!scope) return refuse({ code: 10010, zh: 'scope 不能为空', en: 'scope is missing.' });
  if (flow === 'official' && scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') {
    return refuse({ code: 10005, zh: '此公众号并没有这些 scope 的权限', en: 'scope must be snsapi_base or snsapi_userinfo.' });
  }
  if (flow === 'qr' && scope !== 'snsapi_login') {
    return refuse({ code: 10005, zh: 'scope 参数错误或没有 scope 权限', en: 'scope must be snsapi_login for QR sign-in.' });
  }
  if (!state) return refuse({ code: 10013, zh: 'state 不能为空', en: 'state is missing.' });
  if (!WECHAT_STATE.test(state)) return refuse({ zh: '参数错误', en: 'state may only hold A-Z, a-z, 0-9, at most 128 characters.' });
  return { ok: true, params: { appid, redirect_uri: redirectUri, response_type: 'code', scope: scope as SandboxScope, state } };
}

// The registered 网页授权域名 is this server's own: the sandbox signs in nobody else's site.
function sameHost(uri: string, issuer: string): boolean {
  try {
    const url = new URL(uri);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.host === new URL(issuer).host;
  } catch {
    return false;
  }
}

/** Appends to the redirect_uri as written, as WeChat does, instead of re-encoding its query. */
function withQuery(uri: string, query: string): string {
  const hash = uri.indexOf('#');
  const base = hash < 0 ? uri : uri.slice(0, hash);
  return base + (base.includes('?') ? '&' : '?') + query + (hash < 0 ? '' : uri.slice(hash));
}

/**
 * A snapshot user's ids are virtual and new each time: nothing links them to the person, so a
 * provider that registers them anyway ends up with a stray account, as it would with WeChat.
 */
function grantSubject(input: { appId: string; scope: SandboxScope; user: SandboxUser; snapshot: boolean }): SandboxSubject {
  const { appId, scope, user, snapshot } = input;
  if (snapshot) return { appId, scope, snapshot, userId: null, openid: randomWeChatId(), unionid: randomWeChatId() };
  return { appId, scope, snapshot, userId: user.id, openid: openidFor(appId, user.id), unionid: user.unionid };
}

async function refusalPage(ctx: Context, refusal: Refusal): Promise<void> {
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  await ctx.render('sandbox-error', { sandbox: true, code: refusal.code, zh: refusal.zh, en: refusal.en });
}

const AVATAR_PX: Record<string, number> = { '0': 640, '46': 46, '64': 64, '96': 96, '132': 132 };

export function addAuthorizeRoutes(router: Router, deps: AuthorizeDeps): void {
  const { users, grants } = deps;
  const avatarOf = (user: SandboxUser) => avatarUrlFor(deps.issuer, user.id);

  // Inside WeChat: the Official Account's page. On a desktop: the website app's QR code, which
  // the sandbox stands for with the same choice of test user (as if scanned and confirmed).
  for (const flow of ['official', 'qr'] as const) {
    router.get(FLOW_PATHS[flow], async (ctx) => {
      const values = checkOrder(ctx.querystring);
      if (!values) return refusalPage(ctx, NOT_IN_ORDER);
      const checked = checkParams(values, deps, flow);
      if (!checked.ok) return refusalPage(ctx, checked.refusal);
      const list = await users.list();
      ctx.set('Cache-Control', 'no-store');
      await ctx.render('sandbox-authorize', {
        sandbox: true,
        params: checked.params,
        action: FLOW_PATHS[flow],
        qr: flow === 'qr',
        users: list.map((user) => ({ id: user.id, nickname: user.nickname, avatar: avatarOf(user) })),
        suggestedNickname: randomNickname(),
      });
    });

    router.post(FLOW_PATHS[flow], bodyParser({ enableTypes: ['form'] }), async (ctx) => {
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      const checked = checkParams(body, deps, flow);
      if (!checked.ok) return refusalPage(ctx, checked.refusal);
      const { params } = checked;
      ctx.set('Cache-Control', 'no-store');
      // Refused: back with the state and no code (the website app's page may not come back at
      // all; the provider treats a code-less callback as the refusal either way).
      if (body.action === 'refuse') return ctx.redirect(withQuery(params.redirect_uri, `state=${params.state}`));

      let user: SandboxUser | undefined;
      if (body.action === 'create') user = await users.create(typeof body.nickname === 'string' ? body.nickname : '');
      else if (typeof body.user === 'string') user = await users.find(body.user);
      if (!user) return refusalPage(ctx, { zh: '测试用户不存在', en: 'No such sandbox user: pick one from the list or create one.' });

      const subject = grantSubject({ appId: params.appid, scope: params.scope, user, snapshot: body.snapshot === '1' });
      const code = grants.issueCode(subject);
      ctx.redirect(withQuery(params.redirect_uri, `code=${code}&state=${params.state}`));
    });
  }

  router.get('/sandbox/avatar/:id/:size', async (ctx) => {
    const px = AVATAR_PX[ctx.params.size ?? ''];
    const id = ctx.params.id ?? '';
    const user = id === SNAPSHOT_AVATAR_ID ? undefined : await users.find(id);
    if (px === undefined || (!user && id !== SNAPSHOT_AVATAR_ID)) {
      ctx.status = 404;
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=86400'); // a sandbox user's nickname never changes
    ctx.set('Content-Security-Policy', "default-src 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'image/png';
    ctx.body = avatarPng(px, user);
  });
}

/**
 * A sandbox user's avatar: a silhouette on a colour of their own (grey for the snapshot
 * user), as a PNG like WeChat's.
 */
function avatarPng(px: number, user: SandboxUser | undefined): Buffer {
  const hue = user ? ((createHash('sha256').update(user.id).digest()[0] ?? 0) * 360) / 256 : 0;
  const background = user ? hslToRgb(hue, 0.55, 0.55) : ([217, 217, 217] as [number, number, number]);
  const white: [number, number, number] = [255, 255, 255];
  return squarePng(px, (x, y) => {
    // In units of a 100×100 square: a head, and shoulders below it.
    const u = ((x + 0.5) * 100) / px;
    const v = ((y + 0.5) * 100) / px;
    const head = (u - 50) ** 2 + (v - 38) ** 2 <= 18 ** 2;
    const shoulders = v >= 62 && ((u - 50) / 34) ** 2 + ((v - 92) / 30) ** 2 <= 1;
    return head || shoulders ? white : background;
  });
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}
