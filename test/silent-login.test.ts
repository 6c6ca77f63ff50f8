import { describe, expect, it } from '@jest/globals';
import { Browser, WECHAT_UA } from './helpers/browser.js';
import { useProvider } from './helpers/setup.js';
import { parseWeChatRedirect, returnFromWeChat, throughConsent } from './helpers/sign-in.js';
import { newWeChatUser, wechatExchange, wechatNewUser, type FakeWeChatUser } from './helpers/wechat.js';

// WECHAT_SILENT_LOGIN=true: inside WeChat, snsapi_base first.
const t = useProvider({ WECHAT_SILENT_LOGIN: 'true' });

/** WeChat's answer to a snsapi_base code: the openid, no unionid, no profile. */
function wechatBase(code: string, user: FakeWeChatUser) {
  return wechatExchange(code, { ...user, unionid: undefined }, { scope: 'snsapi_base' });
}

async function startInWeChat(browser: Browser) {
  const { url, checks } = await t.rp.start();
  const page = await browser.follow(url, t.op.issuer);
  return { redirect: parseWeChatRedirect(page.location), checks };
}

describe('silent sign-in inside WeChat', () => {
  it('signs a known person in without WeChat asking, and without a profile call', async () => {
    const user = newWeChatUser();
    const browser = new Browser(WECHAT_UA);

    // First time: snsapi_base finds nobody, so the person is sent on to snsapi_userinfo.
    const first = await startInWeChat(browser);
    expect(first.redirect.url.searchParams.get('scope')).toBe('snsapi_base');
    wechatBase('silent-base-1', user);
    const onward = await returnFromWeChat(browser, t.op.issuer, first.redirect, 'silent-base-1');
    const profileRequest = parseWeChatRedirect(onward.location);
    expect(profileRequest.url.searchParams.get('scope')).toBe('snsapi_userinfo');
    expect(profileRequest.state).not.toBe(first.redirect.state);
    wechatNewUser('silent-info-1', user);
    const registered = await throughConsent(
      browser,
      t.op.issuer,
      await returnFromWeChat(browser, t.op.issuer, profileRequest, 'silent-info-1'),
    );
    const firstTokens = await t.rp.finish(registered.location!, first.checks);
    expect(firstTokens.claims()).toMatchObject({ openid: user.openid, nickname: user.nickname });

    // Next time, in a fresh WeChat browser: one silent round trip and back to the app.
    const again = new Browser(WECHAT_UA);
    const second = await startInWeChat(again);
    expect(second.redirect.url.searchParams.get('scope')).toBe('snsapi_base');
    const exchange = wechatBase('silent-base-2', user); // and nothing else: no userinfo call
    // (This app asks for consent in each new browser; WeChat asked nothing.)
    const back = await throughConsent(again, t.op.issuer, await returnFromWeChat(again, t.op.issuer, second.redirect, 'silent-base-2'));
    expect(exchange.isDone()).toBe(true);
    expect(back.location?.startsWith(t.rp.redirectUri)).toBe(true);
    const secondTokens = await t.rp.finish(back.location!, second.checks);
    expect(secondTokens.claims()).toMatchObject({ sub: firstTokens.claims()!.sub, nickname: user.nickname });
  });

  it('leaves desktop browsers alone: no snsapi_base there', async () => {
    const { url } = await t.rp.start();
    const page = await new Browser().follow(url, t.op.issuer);
    expect(page.status).toBe(200); // the sign-in page
  });
});
