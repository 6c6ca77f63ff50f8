import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { Browser } from './helpers/browser.js';
import { useProvider } from './helpers/setup.js';
import { signIn } from './helpers/sign-in.js';
import { WECHAT_API, newWeChatUser, wechatError, wechatNewUser, type FakeWeChatUser } from './helpers/wechat.js';

// A mini-program (wx.login) or a mobile app (WeChat's SDK) trades the person's one-time WeChat
// code for our tokens at /token: OAuth 2.0 Token Exchange (RFC 8693), through openid-client's
// generic grant request, as an app's server (or a mini-program's wx.request) would send it.
const MINI = { appId: 'wxminiprogram0001', appSecret: 'mini-app-secret-0123456789' };
const MOBILE = { appId: 'wxmobileapp000001', appSecret: 'mobile-secret-0123456789' };
const t = useProvider({
  WECHAT_MINI_APP_ID: MINI.appId,
  WECHAT_MINI_APP_SECRET: MINI.appSecret,
  WECHAT_MOBILE_APP_ID: MOBILE.appId,
  WECHAT_MOBILE_APP_SECRET: MOBILE.appSecret,
});

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JS_CODE = 'urn:wechat:token-type:js-code';
const APP_CODE = 'urn:wechat:token-type:app-code';
const TEXT = { 'Content-Type': 'text/plain' };

const client = (clientId: 'mini-app' | 'mobile-app' | 'web-app') =>
  oidc.discovery(
    new URL(t.op.issuer),
    clientId,
    undefined,
    clientId === 'mini-app'
      ? oidc.None()
      : oidc.ClientSecretBasic(clientId === 'mobile-app' ? 'mobile-app-secret-0123456789abcdef' : 'web-app-secret-0123456789abcdef0123'),
    { execute: [oidc.allowInsecureRequests] },
  );

/** The same person as seen by the mini-program: its own openid, the same unionid. */
const inMini = (user: FakeWeChatUser) => ({ ...user, openid: `mini-${user.openid}` });

/** WeChat's jscode2session for `code`, answered once. */
function jscode2session(code: string, user: FakeWeChatUser, times = 1) {
  return nock(WECHAT_API)
    .get('/sns/jscode2session')
    .query({ appid: MINI.appId, secret: MINI.appSecret, js_code: code, grant_type: 'authorization_code' })
    .times(times)
    .reply(
      200,
      JSON.stringify({ openid: user.openid, session_key: 'c2Vzc2lvbi1rZXk=', ...(user.unionid ? { unionid: user.unionid } : {}) }),
      TEXT,
    );
}

async function exchange(
  code: string,
  type = JS_CODE,
  clientId: 'mini-app' | 'mobile-app' | 'web-app' = 'mini-app',
  scope = 'openid profile',
) {
  return oidc.genericGrantRequest(await client(clientId), GRANT, { subject_token: code, subject_token_type: type, scope });
}

let codes = 0;
const nextCode = () => `code-${++codes}-${Date.now().toString(36)}`;

describe('a mini-program code exchanged at /token', () => {
  it('registers a new person, without a profile, and answers as RFC 8693 says', async () => {
    const user = inMini(newWeChatUser());
    const code = nextCode();
    jscode2session(code, user);
    const tokens = await exchange(code);
    expect(tokens).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'bearer' });
    expect(tokens.expires_in).toBeGreaterThan(0);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = decodeJwt(tokens.id_token!);
    expect(claims).toMatchObject({
      iss: t.op.issuer,
      aud: 'mini-app',
      openid: user.openid,
      wechat_appid: MINI.appId,
      unionid: user.unionid,
    });
    // WeChat gives mini-programs no nickname or avatar: the claims are absent, not empty.
    expect(claims).not.toHaveProperty('nickname');
    expect(claims).not.toHaveProperty('headimgurl');
    const userinfo = await oidc.fetchUserInfo(await client('mini-app'), tokens.access_token, claims.sub!);
    expect(userinfo.sub).toBe(claims.sub);
  });

  it('signs a returning person in to the same account, and refreshes', async () => {
    const user = inMini(newWeChatUser());
    const first = nextCode();
    jscode2session(first, user);
    const before = decodeJwt((await exchange(first)).id_token!);
    const again = nextCode();
    jscode2session(again, user);
    const tokens = await exchange(again);
    expect(decodeJwt(tokens.id_token!).sub).toBe(before.sub);
    const refreshed = await oidc.refreshTokenGrant(await client('mini-app'), tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe(before.sub);
    await expect(oidc.refreshTokenGrant(await client('mini-app'), tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('gives a person who signed in on the web the same sub, and their nickname', async () => {
    const user = newWeChatUser();
    wechatNewUser('web-first', user);
    const web = await signIn(new Browser(), t.op.issuer, t.rp, 'web-first');
    const code = nextCode();
    jscode2session(code, inMini(user));
    const claims = decodeJwt((await exchange(code)).id_token!);
    expect(claims.sub).toBe(web.claims.sub);
    expect(claims.nickname).toBe(user.nickname);
  });

  it('gives a person who came from the mini-program first the same sub on the web, with a profile from then on', async () => {
    const user = newWeChatUser();
    const code = nextCode();
    jscode2session(code, inMini(user));
    const mini = decodeJwt((await exchange(code)).id_token!);
    wechatNewUser('mini-first', user);
    const web = await signIn(new Browser(), t.op.issuer, t.rp, 'mini-first');
    expect(web.claims.sub).toBe(mini.sub);
    expect(web.claims.nickname).toBe(user.nickname);
  });

  it('refuses a code WeChat calls used, invalid or expired, or a person its risk control refuses: invalid_grant', async () => {
    for (const errcode of [40029, 40163, 40226]) {
      wechatError('/sns/jscode2session', errcode);
      await expect(exchange(nextCode())).rejects.toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('answers 503 temporarily_unavailable when WeChat is busy, and never sends the code twice', async () => {
    for (const errcode of [-1, 45011]) {
      const busy = nock(WECHAT_API)
        .get('/sns/jscode2session')
        .query(true)
        .times(2)
        .reply(200, JSON.stringify({ errcode, errmsg: 'busy' }), TEXT);
      const response = await fetch(`${t.op.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'mini-app', grant_type: GRANT, subject_token: nextCode(), subject_token_type: JS_CODE }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' });
      expect(busy.pendingMocks()).toHaveLength(1); // asked once
      nock.cleanAll();
    }
  });

  it('answers server_error, without the secret, when our own AppSecret is wrong', async () => {
    wechatError('/sns/jscode2session', 40125, 'invalid appsecret');
    const response = await fetch(`${t.op.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'mini-app', grant_type: GRANT, subject_token: nextCode(), subject_token_type: JS_CODE }),
    });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain('server_error');
    expect(body).not.toContain(MINI.appSecret);
  });

  it('refuses a blocked account: invalid_grant', async () => {
    const user = inMini(newWeChatUser());
    const first = nextCode();
    jscode2session(first, user);
    const { sub } = decodeJwt((await exchange(first)).id_token!);
    await t.op.idp.db('accounts').where({ id: sub }).update({ disabled: true });
    const again = nextCode();
    jscode2session(again, user);
    await expect(exchange(again)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('a mobile app code exchanged at /token', () => {
  it("signs the person in with WeChat's profile, by the mobile app's credentials", async () => {
    const user = newWeChatUser();
    const code = nextCode();
    nock(WECHAT_API)
      .get('/sns/oauth2/access_token')
      .query({ appid: MOBILE.appId, secret: MOBILE.appSecret, code, grant_type: 'authorization_code' })
      .reply(
        200,
        JSON.stringify({
          access_token: 'at-mobile',
          expires_in: 7200,
          refresh_token: 'rt',
          openid: user.openid,
          scope: 'snsapi_userinfo',
          unionid: user.unionid,
        }),
        TEXT,
      );
    nock(WECHAT_API)
      .get('/sns/userinfo')
      .query(true)
      .reply(
        200,
        JSON.stringify({ openid: user.openid, nickname: user.nickname, headimgurl: '', privilege: [], unionid: user.unionid }),
        TEXT,
      );
    const tokens = await exchange(code, APP_CODE, 'mobile-app');
    expect(tokens.refresh_token).toBeUndefined(); // this client may not refresh
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ aud: 'mobile-app', nickname: user.nickname, wechat_appid: MOBILE.appId });
  });
});

describe('the exchange refuses', () => {
  it('a client not registered for the grant: unauthorized_client', async () => {
    await expect(exchange(nextCode(), JS_CODE, 'web-app')).rejects.toMatchObject({ error: 'unauthorized_client' });
  });

  it('a client tied to other WeChat apps (wechat_app_ids): unauthorized_client, and WeChat is not asked', async () => {
    await expect(exchange(nextCode(), APP_CODE, 'mini-app')).rejects.toMatchObject({ error: 'unauthorized_client' });
  });

  it('an unknown token type, or no code: invalid_request', async () => {
    await expect(exchange(nextCode(), 'urn:ietf:params:oauth:token-type:access_token')).rejects.toMatchObject({ error: 'invalid_request' });
    await expect(exchange('', JS_CODE)).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('a scope the provider does not have: invalid_scope', async () => {
    await expect(exchange(nextCode(), JS_CODE, 'mini-app', 'openid admin')).rejects.toMatchObject({ error: 'invalid_scope' });
  });
});
