import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, WECHAT_UA } from './helpers/browser.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { sandboxForm } from './helpers/sign-in.js';

// The newcomer's path: no WeChat credentials, so the built-in sandbox plays WeChat and the
// demo app on the same server is the relying party.
let op: RunningProvider;

beforeAll(async () => {
  op = await startProvider({ WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined });
});
afterAll(() => op.close());

describe('the demo app signing in through the WeChat sandbox', () => {
  it('goes from the demo button to a page showing the ID token claims', async () => {
    const browser = new Browser();
    const login = await browser.follow(`${op.issuer}/demo/login`, op.issuer);
    expect(login.status).toBe(200);
    expect(login.body).toContain('微信登录');
    expect(login.body).toContain('微信沙盒');

    const uid = new URL(login.url).pathname.split('/')[2]!;
    const toWeChat = await browser.get(`${op.issuer}/interaction/${uid}/wechat`);
    expect(toWeChat.location).toMatch(new RegExp(`^${op.issuer}/sandbox/connect/oauth2/authorize\\?appid=`));
    const wechatPage = await browser.get(toWeChat.location!);
    expect(wechatPage.status).toBe(200);

    const allowed = await browser.post(
      `${op.issuer}/sandbox/connect/oauth2/authorize`,
      sandboxForm(toWeChat.location!, { action: 'create', nickname: '小明 <b>🐼</b>' }),
    );
    const consent = await browser.follow(allowed.location!, op.issuer);
    expect(consent.body).toContain('Demo app');
    expect(consent.body).toContain('昵称和头像');

    const consentUid = new URL(consent.url).pathname.split('/')[2]!;
    const confirmed = await browser.post(`${op.issuer}/interaction/${consentUid}/confirm`);
    const result = await browser.after(confirmed, op.issuer);

    // The demo keeps the sign-in in its own session and shows it at /demo (reloadable).
    expect(result.url).toBe(`${op.issuer}/demo`);
    expect(result.status).toBe(200);
    for (const claim of ['sub', 'openid', 'unionid', 'nickname', 'headimgurl', 'name', 'picture']) {
      expect(result.body).toContain(`<th>${claim}</th>`);
    }
    // The nickname arrives intact and escaped, never as markup.
    expect(result.body).toContain('小明 &lt;b&gt;🐼&lt;/b&gt;');
    expect(result.body).not.toContain('<b>🐼</b>');
    expect(result.body).toMatch(/<th>openid<\/th><td>o[\w-]{27}<\/td>/);
  });

  it('sends a WeChat browser straight to the sandbox authorize page, no login page', async () => {
    const browser = new Browser(WECHAT_UA);
    const start = await browser.follow(`${op.issuer}/demo/login`, op.issuer);
    // follow() stops at the sandbox because it is a redirect to WeChat's authorize link.
    expect(start.status).toBe(200);
    expect(start.url).toMatch(
      new RegExp(
        `^${op.issuer}/sandbox/connect/oauth2/authorize\\?appid=[^&]+&redirect_uri=[^&]+&response_type=code&scope=snsapi_userinfo&state=[A-Za-z0-9]{32}#wechat_redirect$`,
      ),
    );
  });
});
