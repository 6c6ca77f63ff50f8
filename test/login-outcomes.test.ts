import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { Browser, DESKTOP_UA } from './helpers/browser.js';
import { startProvider, TEST_APP } from './helpers/provider.js';
import { relyingParty } from './helpers/relying-party.js';
import { newWeChatUser, wechatError, wechatExchange, wechatNewUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat } from './helpers/sign-in.js';

const t = useProvider();

/** Starts a sign-in at the app and clicks through to WeChat; returns what WeChat would call back. */
async function atWeChat(browser = new Browser()) {
  const { url, checks } = await t.rp.start();
  const { uid } = await openLoginPage(browser, t.op.issuer, url);
  const redirect = await startWeChat(browser, t.op.issuer, uid);
  return { browser, uid, redirect, checks };
}

describe('what the person sees when the sign-in does not simply succeed', () => {
  it('sends access_denied to the app when the person refuses at WeChat (callback without code)', async () => {
    const { browser, redirect } = await atWeChat();
    const page = await returnFromWeChat(browser, t.op.issuer, redirect, undefined);
    const back = new URL(page.location!);
    expect(back.origin + back.pathname).toBe(t.rp.redirectUri);
    expect(back.searchParams.get('error')).toBe('access_denied');
  });

  it('asks a snapshot user to tap 使用完整服务 and registers nothing', async () => {
    const before = await t.op.idp.accounts.count();
    const user = newWeChatUser();
    wechatExchange('code-snap', user, { is_snapshotuser: 1 });
    const { browser, redirect, uid } = await atWeChat();
    const page = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-snap');

    expect(page.status).toBe(200);
    expect(page.body).toContain('使用完整服务');
    expect(page.body).toContain(`/interaction/${uid}`); // a way to try again
    expect(await t.op.idp.accounts.count()).toBe(before);
    expect(await t.op.idp.accounts.findByIdentity(TEST_APP.appId, user.openid)).toBeUndefined();
  });

  it('refuses a replayed callback: the same state cannot sign anyone in twice', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-replay', user);
    const { browser, redirect } = await atWeChat();
    const first = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-replay');
    expect(first.location?.startsWith(t.rp.redirectUri) || first.url.includes('/interaction/')).toBe(true);

    const again = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-replay');
    expect(again.status).toBe(400);
    expect(again.body).not.toContain('access_token');
  });

  it('refuses a reused WeChat code (40163) with a retry page and no second login', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-twice', user);
    await signIn(new Browser(), t.op.issuer, t.rp, 'code-twice');
    const before = await t.op.idp.accounts.count();

    wechatError('/sns/oauth2/access_token', 40163, 'code been used');
    const { browser, redirect, uid } = await atWeChat();
    const page = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-twice');
    expect(page.status).toBe(400);
    expect(page.body).toContain('微信授权已失效');
    expect(page.body).toContain(`href="/interaction/${uid}"`);
    expect(await t.op.idp.accounts.count()).toBe(before);
  });

  it('refuses a state that belongs to another interaction', async () => {
    const mine = await atWeChat();
    const theirs = await atWeChat();
    // The attacker's WeChat state, replayed against my interaction (my cookies).
    const page = await returnFromWeChat(mine.browser, t.op.issuer, { ...mine.redirect, state: theirs.redirect.state }, 'code-foreign');
    expect(page.status).toBe(400);
    expect(page.body).toContain('登录链接无效');
    // Their state is still good for their own sign-in.
    const user = newWeChatUser();
    wechatNewUser('code-theirs', user);
    const ok = await returnFromWeChat(theirs.browser, t.op.issuer, theirs.redirect, 'code-theirs');
    expect(ok.status).toBe(200); // the consent page of a sign-in that went through
    expect(ok.body).toContain('Web &lt;App&gt; 🍜');
  });

  it("does not let a callback without the person's interaction cookie spend their state", async () => {
    const mine = await atWeChat();
    // Someone who got hold of the whole callback link, in a browser of their own.
    const stolen = await returnFromWeChat(new Browser(), t.op.issuer, mine.redirect, 'code-stolen');
    expect(stolen.body).not.toContain('Web &lt;App&gt; 🍜');
    // The state is still good for the person whose sign-in it is.
    const user = newWeChatUser();
    wechatNewUser('code-mine', user);
    const ok = await returnFromWeChat(mine.browser, t.op.issuer, mine.redirect, 'code-mine');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Web &lt;App&gt; 🍜');
  });

  it('resumes a sign-in in the callback only for the browser that started it', async () => {
    // An app without consent: the callback itself answers with the redirect carrying the code.
    const rp = await relyingParty(t.op.issuer, 'first-party');
    const browser = new Browser();
    const { url, checks } = await rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const redirect = await startWeChat(browser, t.op.issuer, uid);
    const user = newWeChatUser();
    wechatNewUser('code-in-place', user);

    const elsewhere = await returnFromWeChat(new Browser(), t.op.issuer, redirect, 'code-in-place');
    expect(elsewhere.location ?? '').not.toContain('code=');
    const mine = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-in-place');
    expect(mine.status).toBe(303);
    expect(mine.location?.startsWith(rp.redirectUri)).toBe(true);
    const tokens = await rp.finish(mine.location!, checks);
    expect(tokens.claims()).toMatchObject({ openid: user.openid, nickname: user.nickname });
    // The finished interaction is gone: the same callback again gets no second code.
    const again = await returnFromWeChat(browser, t.op.issuer, redirect, 'code-in-place');
    expect(again.location ?? '').not.toContain('code=');
  });

  it('keeps a returning person signing in when /sns/userinfo fails', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-keep-1', user);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'code-keep-1');

    wechatExchange('code-keep-2', user);
    wechatError('/sns/userinfo', -1, 'system error');
    wechatError('/sns/userinfo', -1, 'system error');
    wechatError('/sns/userinfo', -1, 'system error');
    const second = await signIn(new Browser(), t.op.issuer, t.rp, 'code-keep-2');
    expect(second.claims.sub).toBe(first.claims.sub);
    expect(second.claims.nickname).toBe(user.nickname);
  });

  const stalePrompt = (code: string, errcode: number) =>
    nock('https://api.weixin.qq.com')
      .get('/sns/userinfo')
      .query((q) => q.access_token === `at-${code}`)
      .reply(200, JSON.stringify({ errcode, errmsg: 'access_token invalid' }), { 'Content-Type': 'text/plain' });
  const refreshAnswer = (code: string, body: Record<string, unknown>) =>
    nock('https://api.weixin.qq.com')
      .get('/sns/oauth2/refresh_token')
      .query({ appid: TEST_APP.appId, grant_type: 'refresh_token', refresh_token: `rt-${code}` })
      .reply(200, JSON.stringify(body), { 'Content-Type': 'text/plain' });

  it.each([42001, 40001])('refreshes an access token WeChat calls stale (%i) and reads the profile with the fresh one', async (errcode) => {
    const user = newWeChatUser();
    const code = `code-stale-${errcode}`;
    wechatExchange(code, user);
    const stale = stalePrompt(code, errcode);
    const refresh = refreshAnswer(code, {
      access_token: 'fresh',
      expires_in: 7200,
      refresh_token: 'rt2',
      openid: user.openid,
      scope: 'snsapi_userinfo',
    });
    const withFresh = nock('https://api.weixin.qq.com')
      .get('/sns/userinfo')
      .query((q) => q.access_token === 'fresh' && q.openid === user.openid)
      .reply(200, JSON.stringify({ openid: user.openid, nickname: user.nickname, headimgurl: user.headimgurl, unionid: user.unionid }), {
        'Content-Type': 'text/plain',
      });
    const { claims } = await signIn(new Browser(), t.op.issuer, t.rp, code);
    expect([stale.isDone(), refresh.isDone(), withFresh.isDone()]).toEqual([true, true, true]);
    expect(claims).toMatchObject({ openid: user.openid, nickname: user.nickname });
  });

  it('registers nobody and shows a page when the stale token cannot be refreshed', async () => {
    const user = newWeChatUser();
    const code = 'code-stale-norefresh';
    wechatExchange(code, user);
    stalePrompt(code, 42001);
    refreshAnswer(code, { errcode: 42002, errmsg: 'refresh_token expired' });
    const before = await t.op.idp.accounts.count();
    const { browser, redirect } = await atWeChat();
    const page = await returnFromWeChat(browser, t.op.issuer, redirect, code);
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.body).not.toMatch(/at .*\.ts:\d+/);
    expect(await t.op.idp.accounts.count()).toBe(before);
    expect(await t.op.idp.accounts.findByIdentity(TEST_APP.appId, user.openid)).toBeUndefined();
  });
});

describe('WeChat errors, by errcode class', () => {
  const cases: [string, string, number, number, string][] = [
    ['invalid code', '/sns/oauth2/access_token', 40029, 400, '微信授权已失效'],
    ['expired code', '/sns/oauth2/access_token', 42003, 400, '微信授权已失效'],
    ['wrong AppSecret', '/sns/oauth2/access_token', 40125, 503, '登录服务配置有误'],
    ['invalid AppID', '/sns/oauth2/access_token', 40013, 503, '登录服务配置有误'],
    ['busy WeChat', '/sns/oauth2/access_token', -1, 503, '微信暂时无法响应'],
    ['quota reached', '/sns/oauth2/access_token', 45011, 503, '微信暂时无法响应'],
    ['scope not granted for userinfo', '/sns/userinfo', 48001, 400, '未获得授权'],
    ['an errcode WeChat never documented', '/sns/oauth2/access_token', 99999, 502, '微信登录失败'],
  ];

  it.each(cases)('%s → a clear page, nothing registered', async (_name, path, errcode, status, title) => {
    const user = newWeChatUser();
    const before = await t.op.idp.accounts.count();
    if (path === '/sns/userinfo') {
      wechatExchange(`code-${errcode}`, user);
      wechatError(path, errcode, 'api unauthorized');
    } else {
      // Retryable errcodes are asked up to three times; the others once.
      for (let i = 0; i < 3; i++) wechatError(path, errcode, 'failure');
    }
    const { browser, redirect } = await atWeChat();
    const page = await returnFromWeChat(browser, t.op.issuer, redirect, `code-${errcode}`);

    expect(page.status).toBe(status);
    expect(page.body).toContain(title);
    expect(page.body).not.toContain(TEST_APP.appSecret);
    expect(page.body).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(await t.op.idp.accounts.count()).toBe(before);
  });

  it('a network failure towards WeChat → "WeChat is not responding" (in English when preferred), nothing registered', async () => {
    // A WeChat API origin where nothing listens: a real refused connection.
    const unreachable = await startProvider({ WECHAT_API_ORIGIN: 'http://127.0.0.1:1' });
    try {
      const party = await relyingParty(unreachable.issuer);
      const browser = new Browser(DESKTOP_UA, 'en-US,en;q=0.9,zh-CN;q=0.5');
      const { url } = await party.start();
      const { uid } = await openLoginPage(browser, unreachable.issuer, url);
      const redirect = await startWeChat(browser, unreachable.issuer, uid);
      nock.enableNetConnect(/127\.0\.0\.1/);
      const page = await returnFromWeChat(browser, unreachable.issuer, redirect, 'code-net');
      expect(page.status).toBe(503);
      expect(page.body).toContain('WeChat is not responding');
      expect(page.body).not.toContain('微信暂时无法响应');
      expect(page.body).toContain(`href="/interaction/${uid}"`);
      expect(await unreachable.idp.accounts.count()).toBe(0);
    } finally {
      await unreachable.close();
    }
  });
});
