import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Browser, WECHAT_UA } from './helpers/browser.js';
import { TEST_APP, WEB_APP_SECRET } from './helpers/provider.js';
import { newWeChatUser, wechatError, wechatNewUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { openLoginPage, parseWeChatRedirect, returnFromWeChat, signIn, startWeChat, throughConsent } from './helpers/sign-in.js';

const WXWORK_UA = 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.10 MicroMessenger/7.0.1';

const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});
const t = useProvider({}, { logger: pino({ level: 'debug' }, sink) });

describe('where the login step sends each browser', () => {
  it("sends WeChat's browser from the app's request straight to WeChat, and back to the app", async () => {
    const browser = new Browser(WECHAT_UA);
    const { url, checks } = await t.rp.start();
    // The authorization request itself answers with WeChat's link: no login page, no hop.
    const first = await browser.get(url);
    expect(first.status).toBe(302);
    expect(first.location).toMatch(
      /^https:\/\/open\.weixin\.qq\.com\/connect\/oauth2\/authorize\?appid=wx1234567890abcdef&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Finteraction%2F[\w-]+%2Fwechat%2Fcallback&response_type=code&scope=snsapi_userinfo&state=[A-Za-z0-9]{32}#wechat_redirect$/,
    );

    // WeChat's callback finds the interaction by the cookie that request set.
    const user = newWeChatUser();
    wechatNewUser('ua-direct', user);
    const back = await returnFromWeChat(browser, t.op.issuer, parseWeChatRedirect(first.location), 'ua-direct');
    // This app asks for consent: that page is shown inside WeChat too, never WeChat again.
    expect(back.status).toBe(200);
    expect(back.url).toMatch(/\/interaction\/[\w-]+$/);
    expect(back.body).toContain('/confirm');
    const done = await throughConsent(browser, t.op.issuer, back);
    const tokens = await t.rp.finish(done.location!, checks);
    expect(tokens.claims()).toMatchObject({ openid: user.openid, nickname: user.nickname });
  });

  it('never sends WeChat Work an Official Account link: it gets the page', async () => {
    const browser = new Browser(WXWORK_UA);
    const { url } = await t.rp.start();
    const page = await browser.follow(url, t.op.issuer);
    expect(page.status).toBe(200);
    expect(page.url.startsWith(t.op.issuer)).toBe(true);
    expect(page.body).toContain('微信登录');
  });
});

describe('the operator log', () => {
  it('records outcomes and errcodes but never a secret, code or token', async () => {
    const user = newWeChatUser();
    wechatNewUser('log-code-ok', user);
    const { tokens } = await signIn(new Browser(), t.op.issuer, t.rp, 'log-code-ok');

    wechatError('/sns/oauth2/access_token', 40125, 'invalid appsecret');
    const browser = new Browser();
    const { url } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'log-code-bad');

    const log = logLines.join('');
    expect(log).toContain('"outcome":"registered"');
    expect(log).toMatch(/"outcome":"wechat_error"[^\n]*"errcode":40125/);
    for (const secret of [
      TEST_APP.appSecret,
      WEB_APP_SECRET,
      'log-code-ok',
      'log-code-bad',
      tokens.access_token,
      tokens.refresh_token!,
      tokens.id_token!,
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});
