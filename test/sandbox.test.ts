import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { installViews } from '../src/pages/views.js';
import { sandboxApp, SANDBOX_APP_ID } from '../src/sandbox/app.js';
import { SandboxGrants } from '../src/sandbox/grants.js';
import { sandboxRouter } from '../src/sandbox/routes.js';
import { openidFor } from '../src/sandbox/users.js';
import { officialAccountAuthorizeUrl, type WeChatScope } from '../src/wechat/authorize-url.js';
import { WeChatClient } from '../src/wechat/client.js';
import { wechatFailure } from './helpers/wechat-failure.js';

let db: Knex;
let server: Server;
let issuer: string;
let client: WeChatClient;
const grants = new SandboxGrants();
const app = sandboxApp();

beforeAll(async () => {
  db = createKnex('sqlite::memory:');
  await migrateLatest(db);
  // The issuer holds the port, and the router needs the issuer: listen first, then attach.
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const koa = new Koa();
  installViews(koa, { cache: true });
  koa.use(sandboxRouter({ db, issuer, ...app, grants }).routes());
  server.on('request', koa.callback());
  client = new WeChatClient({ apiOrigin: `${issuer}/sandbox`, maxRetries: 0 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await db.destroy();
});

const callback = () => `${issuer}/interaction/abc/wechat/callback`;
const STATE = 'St4te0123456789';

function authorizeUrl(scope: WeChatScope = 'snsapi_userinfo', redirectUri = callback()): string {
  return officialAccountAuthorizeUrl({ openOrigin: `${issuer}/sandbox`, appId: app.appId, redirectUri, scope, state: STATE });
}

/** The form the sandbox page posts, with the five parameters in hidden fields. */
async function submit(fields: Record<string, string>, scope: WeChatScope = 'snsapi_userinfo', redirectUri = callback()): Promise<Response> {
  const body = new URLSearchParams({
    appid: app.appId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state: STATE,
    ...fields,
  });
  return fetch(`${issuer}/sandbox/connect/oauth2/authorize`, { method: 'POST', body, redirect: 'manual' });
}

/** Signs in at the sandbox and returns what came back to redirect_uri. */
async function allow(fields: Record<string, string>, scope: WeChatScope = 'snsapi_userinfo'): Promise<URL> {
  const response = await submit(fields, scope);
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(callback());
  expect(location.searchParams.get('state')).toBe(STATE);
  return location;
}
const codeOf = (location: URL): string => location.searchParams.get('code')!;

async function userIdNamed(nickname: string): Promise<string> {
  const row = await db('sandbox_users').where({ nickname }).first();
  return row.id as string;
}

describe('sandbox authorize page', () => {
  it('opens for the exact link our server builds', async () => {
    const response = await fetch(authorizeUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('申请获得你的昵称、头像');
    expect(html).toContain('name="state" value="St4te0123456789"');
    expect(html).not.toMatch(/<script/i);
  });

  it('refuses a link whose parameters are not in WeChat order, like WeChat', async () => {
    const q = (s: string) => fetch(`${issuer}/sandbox/connect/oauth2/authorize?${s}`);
    const uri = encodeURIComponent(callback());
    for (const query of [
      `redirect_uri=${uri}&appid=${SANDBOX_APP_ID}&response_type=code&scope=snsapi_userinfo&state=${STATE}`,
      `appid=${SANDBOX_APP_ID}&redirect_uri=${uri}&response_type=code&scope=snsapi_userinfo`,
      `appid=${SANDBOX_APP_ID}&redirect_uri=${uri}&response_type=code&scope=snsapi_userinfo&state=${STATE}&extra=1`,
    ]) {
      const response = await q(query);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('参数错误');
    }
    const tolerated = await q(
      `appid=${SANDBOX_APP_ID}&redirect_uri=${uri}&response_type=code&scope=snsapi_base&state=${STATE}&connect_redirect=1`,
    );
    expect(tolerated.status).toBe(200);
  });

  it('refuses a redirect_uri on another host (10003), a foreign appid and an odd state', async () => {
    const foreign = await fetch(authorizeUrl('snsapi_userinfo', 'https://evil.example/callback'));
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('10003');
    const otherApp = await fetch(authorizeUrl().replace(SANDBOX_APP_ID, 'wx1234567890abcdef'));
    expect(await otherApp.text()).toContain('appid 无效');
    const badState = await fetch(authorizeUrl().replace(`state=${STATE}`, 'state=a%2Fb'));
    expect(badState.status).toBe(400);
    // The POST checks again: a hand-made form cannot send the code elsewhere.
    expect((await submit({ action: 'create', nickname: 'x' }, 'snsapi_userinfo', 'https://evil.example/cb')).status).toBe(400);
  });

  it('lists the users and escapes a hostile nickname everywhere', async () => {
    const nickname = '<script>alert(1)</script>"\'';
    await allow({ action: 'create', nickname });
    const html = await (await fetch(authorizeUrl())).text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;');
    expect(html).not.toContain('<script>alert');

    const id = await userIdNamed(nickname);
    expect(html).toContain(`/sandbox/avatar/${id}/132`);
    const avatar = await fetch(`${issuer}/sandbox/avatar/${id}/132`);
    // A raster image, like WeChat's (the provider keeps no other kind).
    expect(avatar.headers.get('content-type')).toBe('image/png');
    expect(avatar.headers.get('cache-control')).toContain('max-age');
    expect(Buffer.from(await avatar.arrayBuffer()).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect((await fetch(`${issuer}/sandbox/avatar/nobody/132`)).status).toBe(404);
  });
});

describe('sandbox sign-in through our WeChat client', () => {
  it('allow → code → exchangeCode, with a unionid and the same openid on every sign-in', async () => {
    const first = await client.exchangeCode(app, codeOf(await allow({ action: 'create', nickname: '小明🐼' })));
    const id = await userIdNamed('小明🐼');
    expect(first.openid).toBe(openidFor(SANDBOX_APP_ID, id));
    expect(first.unionid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(first.scope).toBe('snsapi_userinfo');
    expect(first.expiresIn).toBe(7200);
    expect(first.isSnapshotUser).toBe(false);

    const second = await client.exchangeCode(app, codeOf(await allow({ user: id })));
    expect(second.openid).toBe(first.openid);
    expect(second.unionid).toBe(first.unionid);
    expect(second.accessToken).not.toBe(first.accessToken);

    // /sns/auth, WeChat's check of an access token, as a program other than ours may call it.
    const check = async (openid: string) =>
      (await (
        await fetch(`${issuer}/sandbox/sns/auth?${new URLSearchParams({ access_token: second.accessToken, openid }).toString()}`)
      ).json()) as { errcode: number };
    expect(await check(second.openid)).toMatchObject({ errcode: 0 });
    expect((await check('oSomeoneElse')).errcode).not.toBe(0);
    const profile = await client.userInfo(second.accessToken, second.openid);
    expect(profile).toMatchObject({ openid: first.openid, nickname: '小明🐼', sex: 0, province: '', city: '', country: '', privilege: [] });
    expect(profile.headimgurl).toBe(`${issuer}/sandbox/avatar/${id}/132`);
  });

  it('spends a code on first use: a second exchange is 40163; unknown 40029; expired 42003', async () => {
    const code = codeOf(await allow({ action: 'create', nickname: '阿花🌸' }));
    await client.exchangeCode(app, code);
    const reused = await wechatFailure(client.exchangeCode(app, code));
    expect([reused.kind, reused.errcode]).toEqual(['code_invalid', 40163]);

    expect((await wechatFailure(client.exchangeCode(app, 'nope'))).errcode).toBe(40029);

    const late = codeOf(await allow({ action: 'create', nickname: '大熊' }));
    grants.expireCode(late);
    expect((await wechatFailure(client.exchangeCode(app, late))).errcode).toBe(42003);
    expect((await wechatFailure(client.exchangeCode(app, late))).errcode).toBe(40163);
  });

  it('refuse → back to redirect_uri with the state only', async () => {
    const location = await allow({ action: 'refuse' });
    expect(location.search).toBe(`?state=${STATE}`);
    const withQuery = await submit({ action: 'refuse' }, 'snsapi_userinfo', `${callback()}?x=1`);
    expect(withQuery.headers.get('location')).toBe(`${callback()}?x=1&state=${STATE}`);
  });

  it("a snapshot user gets is_snapshotuser and virtual ids, never the real user's", async () => {
    await allow({ action: 'create', nickname: '胖虎🚀' });
    const id = await userIdNamed('胖虎🚀');
    const real = await client.exchangeCode(app, codeOf(await allow({ user: id })));
    const snapshot = await client.exchangeCode(app, codeOf(await allow({ user: id, snapshot: '1' })));
    expect(snapshot.isSnapshotUser).toBe(true);
    expect(snapshot.openid).not.toBe(openidFor(SANDBOX_APP_ID, id));
    expect(snapshot.unionid).toBeDefined();
    expect(snapshot.unionid).not.toBe(real.unionid);
    const profile = await client.userInfo(snapshot.accessToken, snapshot.openid);
    expect(profile.nickname).toBe('微信用户');
  });

  it('snsapi_base gives no unionid and no profile (48001)', async () => {
    const token = await client.exchangeCode(app, codeOf(await allow({ action: 'create', nickname: '静香' }, 'snsapi_base')));
    expect(token.scope).toBe('snsapi_base');
    expect(token.unionid).toBeUndefined();
    const denied = await wechatFailure(client.userInfo(token.accessToken, token.openid));
    expect([denied.kind, denied.errcode]).toEqual(['scope', 48001]);
  });

  it('checks the app credentials: wrong secret 40125, wrong appid 40013', async () => {
    const code = codeOf(await allow({ action: 'create', nickname: '老王' }));
    const secret = await wechatFailure(client.exchangeCode({ ...app, appSecret: 'f'.repeat(32) }, code));
    expect([secret.kind, secret.errcode]).toEqual(['config', 40125]);
    const appid = await wechatFailure(client.exchangeCode({ ...app, appId: 'wx1234567890abcdef' }, code));
    expect([appid.kind, appid.errcode]).toEqual(['config', 40013]);
  });

  it('answers like WeChat: HTTP 200, JSON labelled text/plain', async () => {
    const response = await fetch(
      `${issuer}/sandbox/sns/oauth2/access_token?appid=${app.appId}&secret=${app.appSecret}&grant_type=authorization_code`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.json()).toMatchObject({ errcode: 41008 });
  });

  it('refreshes without the secret', async () => {
    const token = await client.exchangeCode(app, codeOf(await allow({ action: 'create', nickname: '豆豆🍜' })));
    const refreshed = await client.refreshToken({ appId: app.appId, appSecret: '' }, token.refreshToken);
    expect(refreshed.accessToken).not.toBe(token.accessToken);
    expect(refreshed.openid).toBe(token.openid);
    expect((await client.userInfo(refreshed.accessToken, refreshed.openid)).nickname).toBe('豆豆🍜');
    const invalid = await wechatFailure(client.refreshToken(app, 'nope'));
    expect([invalid.kind, invalid.errcode]).toEqual(['refresh_invalid', 40030]);
    const invalidToken = await wechatFailure(client.userInfo('nope', token.openid));
    expect(invalidToken.errcode).toBe(40001);
  });
});

describe('sandbox grant store', () => {
  const subject = { appId: SANDBOX_APP_ID, scope: 'snsapi_base' as const, snapshot: false, userId: 'u', openid: 'o1', unionid: 'u1' };

  it('stays bounded: the oldest entries go once the cap is reached', () => {
    const small = new SandboxGrants({ cap: 3 });
    const codes = Array.from({ length: 5 }, () => small.issueCode(subject));
    expect(small.codeCount).toBe(3);
    expect(small.redeemCode(codes[0]!, SANDBOX_APP_ID)).toEqual({ ok: false, errcode: 40029 });
    expect(small.redeemCode(codes[4]!, SANDBOX_APP_ID).ok).toBe(true);
  });

  it('lets a code die after five minutes by the clock, and sweeps it later', () => {
    const store = new SandboxGrants();
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const code = store.issueCode(subject);
      now += 5 * 60_000;
      expect(store.redeemCode(code, SANDBOX_APP_ID)).toEqual({ ok: false, errcode: 42003 });
      now += 60 * 60_000;
      store.issueCode(subject); // an insert sweeps what expired long ago
      expect(store.codeCount).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });
});
