import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ACCESS_TOKEN_TTL_S, type Lookup, type SandboxGrants, type SandboxSubject } from './grants.js';
import { SNAPSHOT_AVATAR_ID, avatarUrlFor, type SandboxUsers } from './users.js';

export interface ApiDeps {
  users: SandboxUsers;
  grants: SandboxGrants;
  issuer: string;
  /** Each app the sandbox knows (the Official Account, the website app, the mobile app) by id: its secret. */
  secrets: ReadonlyMap<string, string>;
  /** The mini-program, whose codes only /sns/jscode2session takes. */
  miniApp?: { appId: string; appSecret: string };
}

// WeChat's own wording, so logs from the sandbox read like logs from WeChat.
const ERRMSG: Record<number, string> = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40029: 'invalid code',
  40030: 'invalid refresh_token',
  40125: 'invalid appsecret',
  40163: 'code been used',
  41001: 'access_token missing',
  41002: 'appid missing',
  41003: 'refresh_token missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  42002: 'refresh_token expired',
  42003: 'code expired',
  48001: 'api unauthorized',
  40226: 'invalid user, high risk level',
};

// A snapshot user's profile is a placeholder (wechat.md, snapshot users).
const SNAPSHOT_NICKNAME = '微信用户';

/** WeChat answers everything with HTTP 200, JSON labelled text/plain; errors carry errcode. */
function answer(ctx: Context, body: Record<string, unknown>): void {
  ctx.status = 200;
  ctx.body = JSON.stringify(body);
  ctx.set('Content-Type', 'text/plain');
  ctx.set('Cache-Control', 'no-store');
}

function fail(ctx: Context, errcode: number): void {
  // WeChat appends a request id to every errmsg; callers must not parse errmsg.
  const rid = `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
  answer(ctx, { errcode, errmsg: `${ERRMSG[errcode] ?? 'system error'} rid: ${rid}` });
}

const param = (ctx: Context, name: string): string => {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : '';
};

// Compares digests so the time taken says nothing about how much of the secret was right.
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function tokenAnswer(subject: SandboxSubject, accessToken: string, refreshToken: string): Record<string, unknown> {
  return {
    access_token: accessToken,
    expires_in: ACCESS_TOKEN_TTL_S,
    refresh_token: refreshToken,
    openid: subject.openid,
    scope: subject.scope,
    // unionid only with snsapi_userinfo (or a website app's snsapi_login), is_snapshotuser
    // only when it is 1: as WeChat answers.
    ...(subject.scope !== 'snsapi_base' ? { unionid: subject.unionid } : {}),
    ...(subject.snapshot ? { is_snapshotuser: 1 } : {}),
  };
}

/** The access token's subject, provided it belongs to the openid the caller names. */
function tokenFor(ctx: Context, grants: SandboxGrants): Lookup {
  const accessToken = param(ctx, 'access_token');
  if (!accessToken) return { ok: false, errcode: 41001 };
  const found = grants.accessToken(accessToken);
  if (found.ok && found.subject.openid !== param(ctx, 'openid')) return { ok: false, errcode: 40003 };
  return found;
}

export function addApiRoutes(router: Router, deps: ApiDeps): void {
  const { grants, users } = deps;

  router.get('/sandbox/sns/oauth2/access_token', (ctx) => {
    const appid = param(ctx, 'appid');
    const secret = param(ctx, 'secret');
    const code = param(ctx, 'code');
    if (!appid) return fail(ctx, 41002);
    const expected = deps.secrets.get(appid);
    if (expected === undefined) return fail(ctx, 40013);
    if (!secret) return fail(ctx, 41004);
    if (!sameSecret(secret, expected)) return fail(ctx, 40125);
    if (!code) return fail(ctx, 41008);
    if (param(ctx, 'grant_type') !== 'authorization_code') return fail(ctx, 40002);
    const redeemed = grants.redeemCode(code, appid);
    if (!redeemed.ok) return fail(ctx, redeemed.errcode);
    const { accessToken, refreshToken } = grants.issueTokens(redeemed.subject);
    answer(ctx, tokenAnswer(redeemed.subject, accessToken, refreshToken));
  });

  // A mini-program's wx.login code: openid, session_key and (bound to an Open Platform
  // account, as the sandbox's is) unionid; never a profile.
  router.get('/sandbox/sns/jscode2session', (ctx) => {
    const appid = param(ctx, 'appid');
    const secret = param(ctx, 'secret');
    const code = param(ctx, 'js_code');
    if (!appid) return fail(ctx, 41002);
    if (!deps.miniApp || appid !== deps.miniApp.appId) return fail(ctx, 40013);
    if (!secret) return fail(ctx, 41004);
    if (!sameSecret(secret, deps.miniApp.appSecret)) return fail(ctx, 40125);
    if (!code) return fail(ctx, 41008);
    if (param(ctx, 'grant_type') !== 'authorization_code') return fail(ctx, 40002);
    const redeemed = grants.redeemCode(code, appid);
    if (!redeemed.ok) return fail(ctx, redeemed.errcode);
    if (redeemed.subject.risky) return fail(ctx, 40226);
    answer(ctx, { openid: redeemed.subject.openid, session_key: randomBytes(16).toString('base64'), unionid: redeemed.subject.unionid });
  });

  // No secret here: WeChat lets anyone holding the refresh token renew the access token.
  router.get('/sandbox/sns/oauth2/refresh_token', (ctx) => {
    const appid = param(ctx, 'appid');
    const refreshToken = param(ctx, 'refresh_token');
    if (!appid) return fail(ctx, 41002);
    if (!deps.secrets.has(appid)) return fail(ctx, 40013);
    if (param(ctx, 'grant_type') !== 'refresh_token') return fail(ctx, 40002);
    if (!refreshToken) return fail(ctx, 41003);
    const found = grants.refreshToken(refreshToken, appid);
    if (!found.ok) return fail(ctx, found.errcode);
    // WeChat keeps the refresh token: its 30 days count from the sign-in, not from the refresh.
    answer(ctx, tokenAnswer(found.subject, grants.issueAccessToken(found.subject), refreshToken));
  });

  router.get('/sandbox/sns/auth', (ctx) => {
    const found = tokenFor(ctx, grants);
    if (!found.ok) return fail(ctx, found.errcode);
    answer(ctx, { errcode: 0, errmsg: 'ok' });
  });

  router.get('/sandbox/sns/userinfo', async (ctx) => {
    const found = tokenFor(ctx, grants);
    if (!found.ok) return fail(ctx, found.errcode);
    const { subject } = found;
    if (subject.scope === 'snsapi_base') return fail(ctx, 48001);
    const user = subject.userId === null ? undefined : await users.find(subject.userId);
    if (!subject.snapshot && !user) return fail(ctx, 40003); // the test user was deleted meanwhile
    answer(ctx, {
      openid: subject.openid,
      nickname: user?.nickname ?? SNAPSHOT_NICKNAME,
      // Blank for sign-in calls since 2021-10-20: a sandbox that filled them in would hide bugs.
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: avatarUrlFor(deps.issuer, user?.id ?? SNAPSHOT_AVATAR_ID),
      privilege: [],
      unionid: subject.unionid,
    });
  });
}
