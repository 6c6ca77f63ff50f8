import { describe, expect, it } from '@jest/globals';
import { Browser } from './helpers/browser.js';
import { TEST_APP } from './helpers/provider.js';
import { newWeChatUser, wechatNewUser, wechatReturningUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat, throughConsent } from './helpers/sign-in.js';

const t = useProvider();

describe('signing in with WeChat', () => {
  it('registers a new person and hands the app an ID token with the WeChat claims', async () => {
    const user = newWeChatUser();
    const calls = wechatNewUser('code-new-1', user);
    const { claims } = await signIn(new Browser(), t.op.issuer, t.rp, 'code-new-1');

    calls.forEach((scope) => expect(scope.isDone()).toBe(true));
    expect(claims.openid).toBe(user.openid);
    expect(claims.unionid).toBe(user.unionid);
    expect(claims.nickname).toBe(user.nickname);
    expect(claims.name).toBe(user.nickname);
    expect(claims.headimgurl).toBe(user.headimgurl.replace('http://', 'https://'));
    expect(claims.picture).toBe(user.headimgurl.replace('http://', 'https://'));
    expect(claims.sub).not.toBe(user.openid);
    expect(claims.sub).not.toBe(user.unionid);
    expect(await t.op.idp.accounts.findByIdentity(TEST_APP.appId, user.openid)).toMatchObject({ id: claims.sub });
  });

  it('gives a returning person the same sub and no new account', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-ret-1', user);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'code-ret-1');
    const accountsBefore = await t.op.idp.accounts.count();

    wechatReturningUser('code-ret-2', user);
    const second = await signIn(new Browser(), t.op.issuer, t.rp, 'code-ret-2');

    expect(second.claims.sub).toBe(first.claims.sub);
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore);
  });

  it('shows a nickname or avatar changed at WeChat in the next ID token', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-chg-1', user);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'code-chg-1');

    const changed = { ...user, nickname: '新名字 ✨ مرحبا', headimgurl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/changed/0' };
    wechatReturningUser('code-chg-2', changed);
    const second = await signIn(new Browser(), t.op.issuer, t.rp, 'code-chg-2');

    expect(second.claims.sub).toBe(first.claims.sub);
    expect(second.claims.nickname).toBe(changed.nickname);
    expect(second.claims.headimgurl).toBe(changed.headimgurl);
  });

  it('signs a person in again on the browser they are signed in on, with their profile brought up to date', async () => {
    const user = newWeChatUser();
    const browser = new Browser();
    wechatNewUser('code-again-1', user);
    const first = await signIn(browser, t.op.issuer, t.rp, 'code-again-1');

    // The app asks them to sign in again (prompt=login): their account is read with the
    // interaction, and what WeChat says now still lands in the ID token.
    const renamed = { ...user, nickname: '又改名了' };
    wechatReturningUser('code-again-2', renamed);
    const again = await signIn(browser, t.op.issuer, t.rp, 'code-again-2', 'openid profile', { prompt: 'login' });
    expect(again.claims).toMatchObject({ sub: first.claims.sub, openid: user.openid, nickname: '又改名了' });
  });

  it('signs a new person in when the app asks for prompt=login, consent included', async () => {
    const user = newWeChatUser();
    wechatNewUser('code-login-1', user);
    // Logging in and consenting are two interactions of one authorization: the second must
    // not forget the first, or the person is sent back to log in after consenting.
    const { claims } = await signIn(new Browser(), t.op.issuer, t.rp, 'code-login-1', 'openid profile', { prompt: 'login' });
    expect(claims.openid).toBe(user.openid);
  });

  it('signs in whoever WeChat names, on a browser still signed in as someone else', async () => {
    const [a, b] = [newWeChatUser(), newWeChatUser()];
    const browser = new Browser();
    const again = { prompt: 'login' };
    wechatNewUser('code-two-1', a);
    const first = await signIn(browser, t.op.issuer, t.rp, 'code-two-1');

    // Signed in as A; B signs in on the same browser: A's session ends, B's begins.
    wechatNewUser('code-two-2', b);
    const other = await signIn(browser, t.op.issuer, t.rp, 'code-two-2', 'openid profile', again);
    expect(other.claims.sub).not.toBe(first.claims.sub);
    expect(other.claims.openid).toBe(b.openid);

    // And back: A again, on the browser now signed in as B.
    wechatReturningUser('code-two-3', a);
    const back = await signIn(browser, t.op.issuer, t.rp, 'code-two-3', 'openid profile', again);
    expect(back.claims).toMatchObject({ sub: first.claims.sub, openid: a.openid });
  });
});

describe('reloading the login step', () => {
  it('reuses the interaction’s WeChat state instead of storing another each time', async () => {
    // The attack: reloading /interaction/:uid/wechat in a loop to pile states up.
    const browser = new Browser();
    const { url } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const states = new Set<string>();
    for (let i = 0; i < 5; i += 1) states.add((await startWeChat(browser, t.op.issuer, uid)).state);
    expect(states.size).toBe(1);
    expect(Number((await t.op.idp.db('wechat_states').where({ uid }).count({ n: '*' }))[0]!.n)).toBe(1);

    // It still works, once.
    const user = newWeChatUser();
    wechatNewUser('reload-1', user);
    const page = await throughConsent(
      browser,
      t.op.issuer,
      await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'reload-1'),
    );
    expect(page.location?.startsWith(t.rp.redirectUri)).toBe(true);
  });
});
