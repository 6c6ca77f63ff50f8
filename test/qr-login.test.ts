import { describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { blockAccount } from '../src/accounts/blocking.js';
import { revokeAccounts } from '../src/oidc/stored-rows.js';
import { Browser, WECHAT_UA } from './helpers/browser.js';
import { TEST_APP } from './helpers/provider.js';
import { useProvider } from './helpers/setup.js';
import { openLoginPage, parseWeChatRedirect, returnFromWeChat, signIn, startWeChat, throughConsent } from './helpers/sign-in.js';
import type { RelyingParty } from './helpers/relying-party.js';
import {
  newWeChatUser,
  wechatError,
  wechatExchange,
  wechatNewUser,
  wechatReturningUser,
  wechatUserinfo,
  type FakeWeChatUser,
} from './helpers/wechat.js';

// An Open Platform website app (网站应用), for QR sign-in on desktops.
const WEB_APP = { appId: 'wxweb0123456789ab', appSecret: 'website-app-secret-0a1b2c3d4e5f' };
const WXWORK_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) wxwork/4.1.20 MicroMessenger/7.0.1 Chrome/116.0 Safari/537.36';
const QR_LINK =
  /^https:\/\/open\.weixin\.qq\.com\/connect\/qrconnect\?appid=wxweb0123456789ab&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Finteraction%2F[\w-]+%2Fwechat%2Fcallback&response_type=code&scope=snsapi_login&state=[A-Za-z0-9]{32}#wechat_redirect$/;

/** A desktop sign-in through the QR code, up to the page after WeChat's callback. */
async function throughQr(browser: Browser, issuer: string, rp: RelyingParty, code: string | undefined, scope?: string) {
  const { url, checks } = await rp.start(scope);
  const { page, uid } = await openLoginPage(browser, issuer, url);
  expect(page.body).toContain(`href="/interaction/${uid}/qr"`);
  const qr = await browser.get(`${issuer}/interaction/${uid}/qr`);
  expect(qr.status).toBe(302);
  expect(qr.location).toMatch(QR_LINK);
  const after = await returnFromWeChat(browser, issuer, parseWeChatRedirect(qr.location), code);
  return { after, checks };
}

async function qrSignIn(issuer: string, rp: RelyingParty, code: string, browser = new Browser()) {
  const { after, checks } = await throughQr(browser, issuer, rp, code);
  const page = await throughConsent(browser, issuer, after);
  expect(page.location?.startsWith(rp.redirectUri)).toBe(true);
  return (await rp.finish(page.location!, checks)).claims()!;
}

/** What a first QR sign-in asks WeChat: the exchange with the website app's credentials. */
function wechatQrUser(code: string, user: FakeWeChatUser) {
  return [wechatExchange(code, user, {}, WEB_APP), wechatUserinfo(user)];
}

describe('with a website app: QR sign-in outside WeChat', () => {
  const t = useProvider({ WECHAT_WEB_APP_ID: WEB_APP.appId, WECHAT_WEB_APP_SECRET: WEB_APP.appSecret });

  it("offers a desktop browser WeChat's QR page and registers the person with the website app's credentials", async () => {
    const user = newWeChatUser();
    const calls = wechatQrUser('qr-new-1', user);
    const claims = await qrSignIn(t.op.issuer, t.rp, 'qr-new-1');

    calls.forEach((call) => expect(call.isDone()).toBe(true));
    expect(claims).toMatchObject({ openid: user.openid, wechat_appid: WEB_APP.appId, unionid: user.unionid, nickname: user.nickname });
    expect(await t.op.idp.accounts.findByIdentity(WEB_APP.appId, user.openid)).toMatchObject({ id: claims.sub });
  });

  it('lands on the same account and sub as the Official Account sign-in of the same person, in either order', async () => {
    const unionid = `uBoth${Date.now()}`;
    const inWeChat = newWeChatUser({ unionid });
    const onDesktop = newWeChatUser({ unionid, nickname: inWeChat.nickname });
    wechatNewUser('both-oa-1', inWeChat);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'both-oa-1');
    const accountsBefore = await t.op.idp.accounts.count();

    wechatQrUser('both-qr-1', onDesktop);
    const second = await qrSignIn(t.op.issuer, t.rp, 'both-qr-1');
    expect(second.sub).toBe(first.claims.sub);
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore);
    // Apps get the Official Account's openid (the one WeChat Pay JSAPI needs), and its app id.
    expect(second).toMatchObject({ openid: inWeChat.openid, wechat_appid: TEST_APP.appId, unionid });

    // The other way round: a desktop first, WeChat's browser afterwards.
    const otherUnionid = `uBack${Date.now()}`;
    const desktopFirst = newWeChatUser({ unionid: otherUnionid });
    const phoneLater = newWeChatUser({ unionid: otherUnionid, nickname: desktopFirst.nickname });
    wechatQrUser('back-qr-1', desktopFirst);
    const viaQr = await qrSignIn(t.op.issuer, t.rp, 'back-qr-1');
    expect(viaQr).toMatchObject({ openid: desktopFirst.openid, wechat_appid: WEB_APP.appId });
    wechatNewUser('back-oa-1', phoneLater);
    const viaPhone = await signIn(new Browser(), t.op.issuer, t.rp, 'back-oa-1');
    expect(viaPhone.claims).toMatchObject({ sub: viaQr.sub, openid: phoneLater.openid, wechat_appid: TEST_APP.appId });
  });

  it('makes one account of two first sign-ins of one person through both apps at the same moment', async () => {
    const unionid = `uRace${Date.now()}`;
    const inWeChat = newWeChatUser({ unionid });
    const onDesktop = newWeChatUser({ unionid, nickname: inWeChat.nickname });
    wechatNewUser('race-oa-1', inWeChat);
    wechatQrUser('race-qr-1', onDesktop);
    const [phone, desktop] = await Promise.allSettled([
      signIn(new Browser(), t.op.issuer, t.rp, 'race-oa-1'),
      qrSignIn(t.op.issuer, t.rp, 'race-qr-1'),
    ]);
    // Two accounts may be made, and are merged into the older one. A sign-in that got as far
    // as a session under the merged-away account loses it with the merge (its sessions are
    // revoked, as in any merge) and ends on "sign in again"; that takes it to the kept account.
    // At least one of the two goes through at once.
    expect([phone, desktop].some((outcome) => outcome.status === 'fulfilled')).toBe(true);
    let phoneSub: string;
    if (phone.status === 'fulfilled') phoneSub = phone.value.claims.sub;
    else {
      wechatReturningUser('race-oa-2', inWeChat);
      phoneSub = (await signIn(new Browser(), t.op.issuer, t.rp, 'race-oa-2')).claims.sub;
    }
    let desktopSub: string;
    if (desktop.status === 'fulfilled') desktopSub = desktop.value.sub;
    else {
      wechatQrUser('race-qr-2', onDesktop);
      desktopSub = (await qrSignIn(t.op.issuer, t.rp, 'race-qr-2')).sub;
    }
    expect(desktopSub).toBe(phoneSub);
    const owners = await t.op.idp.db('wechat_identities').distinct('account_id').where({ unionid });
    expect(owners).toEqual([{ account_id: phoneSub }]);
    expect(await t.op.idp.db('accounts').where({ id: phoneSub }).first('id')).toBeDefined();
  });

  it('attaches a unionid that appears later to the account first seen without one', async () => {
    const withoutUnionid = newWeChatUser({ unionid: undefined });
    wechatNewUser('late-1', withoutUnionid);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'late-1');
    expect(first.claims.unionid).toBeUndefined();

    const withUnionid = { ...withoutUnionid, unionid: `uLate${Date.now()}` };
    wechatExchange('late-2', withoutUnionid);
    wechatUserinfo(withUnionid);
    const second = await signIn(new Browser(), t.op.issuer, t.rp, 'late-2');
    expect(second.claims).toMatchObject({ sub: first.claims.sub, unionid: withUnionid.unionid });

    // The website app's first sign-in of that person now finds the account by unionid.
    const onDesktop = newWeChatUser({ unionid: withUnionid.unionid, nickname: withUnionid.nickname });
    wechatQrUser('late-qr-1', onDesktop);
    expect((await qrSignIn(t.op.issuer, t.rp, 'late-qr-1')).sub).toBe(first.claims.sub);
  });

  it('merges two accounts that turn out to share a unionid into the older one, identities and all', async () => {
    const unionid = `uMerge${Date.now()}`;
    // Inside WeChat first, without a unionid yet: account A.
    const inWeChat = newWeChatUser({ unionid: undefined });
    wechatNewUser('merge-oa-1', inWeChat);
    const older = await signIn(new Browser(), t.op.issuer, t.rp, 'merge-oa-1');
    // On a desktop, with the unionid: nothing ties it to A yet, so account B.
    const onDesktop = newWeChatUser({ unionid });
    wechatQrUser('merge-qr-1', onDesktop);
    const newer = await qrSignIn(t.op.issuer, t.rp, 'merge-qr-1');
    expect(newer.sub).not.toBe(older.claims.sub);
    const accountsBefore = await t.op.idp.accounts.count();

    // Back inside WeChat, WeChat now gives A's identity the unionid: A and B are one person.
    wechatExchange('merge-oa-2', inWeChat);
    wechatUserinfo({ ...inWeChat, unionid });
    const merged = await signIn(new Browser(), t.op.issuer, t.rp, 'merge-oa-2');
    expect(merged.claims).toMatchObject({ sub: older.claims.sub, openid: inWeChat.openid, unionid });
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore - 1);
    expect(await t.op.idp.accounts.findById(newer.sub)).toBeUndefined();
    expect(await t.op.idp.accounts.findByIdentity(WEB_APP.appId, onDesktop.openid)).toMatchObject({ id: older.claims.sub });

    // The desktop sign-in now lands on A as well.
    wechatExchange('merge-qr-2', onDesktop, {}, WEB_APP);
    wechatUserinfo(onDesktop);
    expect((await qrSignIn(t.op.issuer, t.rp, 'merge-qr-2')).sub).toBe(older.claims.sub);
  });

  it('merges in the browser signed in as the account merged away: the sign-in ends on the kept account, in a new session', async () => {
    const unionid = `uSame${Date.now()}`;
    const inWeChat = newWeChatUser({ unionid: undefined });
    wechatNewUser('same-oa-1', inWeChat);
    const older = await signIn(new Browser(), t.op.issuer, t.rp, 'same-oa-1');
    // This browser is signed in as B, the account about to be merged away.
    const browser = new Browser();
    wechatQrUser('same-qr-1', newWeChatUser({ unionid }));
    const newer = await qrSignIn(t.op.issuer, t.rp, 'same-qr-1', browser);
    expect(newer.sub).not.toBe(older.claims.sub);

    // In the same browser, A signs in and WeChat now gives A the unionid: B's sessions go
    // with B, and the sign-in resumed in that request must not use the one it came with.
    wechatExchange('same-oa-2', inWeChat);
    wechatUserinfo({ ...inWeChat, unionid });
    const merged = await signIn(browser, t.op.issuer, t.rp, 'same-oa-2', 'openid profile', { prompt: 'login' });
    expect(merged.claims.sub).toBe(older.claims.sub);
    const models = await t.op.idp.db('oidc_models').where({ account_id: newer.sub }).count({ n: '*' });
    expect(Number(models[0]!.n)).toBe(0);

    // The browser's session is now A's: a new authorization signs it in without WeChat.
    const { url, checks } = await t.rp.start();
    const page = await throughConsent(browser, t.op.issuer, await browser.follow(url, t.op.issuer));
    expect(page.location?.startsWith(t.rp.redirectUri)).toBe(true);
    expect((await t.rp.finish(page.location!, checks)).claims()!.sub).toBe(older.claims.sub);
  });

  it('blocks the kept account when it inherits a block through a merge, and revokes what it held', async () => {
    // The finding: A signs in without a unionid; B, with unionid U, is blocked; A signs in
    // again and WeChat now gives U. The merge blocked A, but A's tokens stayed active, and the
    // sign-in went on as A to a 500.
    const unionid = `uBlocked${Date.now()}`;
    const inWeChat = newWeChatUser({ unionid: undefined });
    wechatNewUser('inherit-oa-1', inWeChat);
    const older = await signIn(new Browser(), t.op.issuer, t.rp, 'inherit-oa-1');
    expect((await oidc.tokenIntrospection(t.rp.config, older.tokens.access_token)).active).toBe(true);
    wechatQrUser('inherit-qr-1', newWeChatUser({ unionid }));
    const blocked = await qrSignIn(t.op.issuer, t.rp, 'inherit-qr-1');
    expect(await blockAccount(t.op.idp.db, blocked.sub, revokeAccounts)).toMatchObject({ found: true });

    wechatExchange('inherit-oa-2', inWeChat);
    wechatUserinfo({ ...inWeChat, unionid });
    const browser = new Browser();
    const { url } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const page = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'inherit-oa-2');
    expect(page.status).toBe(403);
    expect(page.body).toContain('data-message="account_blocked"');
    expect(await t.op.idp.accounts.findById(older.claims.sub)).toMatchObject({ disabled: true });
    expect((await oidc.tokenIntrospection(t.rp.config, older.tokens.access_token)).active).toBe(false);
    const held = await t.op.idp
      .db('oidc_models')
      .where({ account_id: older.claims.sub })
      .whereNot({ model: 'Interaction' })
      .count({ n: '*' });
    expect(Number(held[0]!.n)).toBe(0);
  });

  it('sends WeChat Work to the QR sign-in, never to an Official Account link', async () => {
    const browser = new Browser(WXWORK_UA);
    const { url } = await t.rp.start();
    const { page, uid } = await openLoginPage(browser, t.op.issuer, url);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('/connect/oauth2/authorize');
    const viaWeChatLink = await browser.get(`${t.op.issuer}/interaction/${uid}/wechat`);
    expect(viaWeChatLink.location).toMatch(QR_LINK);
  });

  it('still sends WeChat’s own browser to the Official Account', async () => {
    const { url } = await t.rp.start();
    const page = await new Browser(WECHAT_UA).follow(url, t.op.issuer);
    expect(page.location).toMatch(/^https:\/\/open\.weixin\.qq\.com\/connect\/oauth2\/authorize\?appid=wx1234567890abcdef&/);
  });

  it('ends a refusal at the QR page in access_denied, with no account', async () => {
    const browser = new Browser();
    const accountsBefore = await t.op.idp.accounts.count();
    const { after } = await throughQr(browser, t.op.issuer, t.rp, undefined);
    const back = new URL(after.location!);
    expect(back.href.startsWith(t.rp.redirectUri)).toBe(true);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore);
  });

  it("shows WeChat's errors in the QR flow as pages, and registers nobody", async () => {
    const accountsBefore = await t.op.idp.accounts.count();
    wechatError('/sns/oauth2/access_token', 40029, 'invalid code');
    const expired = await throughQr(new Browser(), t.op.issuer, t.rp, 'qr-bad-code');
    expect(expired.after.status).toBe(400);
    expect(expired.after.body).toContain('微信授权已失效');

    wechatError('/sns/oauth2/access_token', 40125, 'invalid appsecret');
    const misconfigured = await throughQr(new Browser(), t.op.issuer, t.rp, 'qr-bad-secret');
    expect(misconfigured.after.status).toBe(503);
    expect(misconfigured.after.body).toContain('登录服务配置有误');
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore);
  });

  it('registers nobody for a snapshot answer in the QR flow', async () => {
    const user = newWeChatUser();
    wechatExchange('qr-snap-1', user, { is_snapshotuser: 1 }, WEB_APP);
    const accountsBefore = await t.op.idp.accounts.count();
    const { after } = await throughQr(new Browser(), t.op.issuer, t.rp, 'qr-snap-1');
    expect(after.status).toBe(200);
    expect(after.body).toContain('使用完整服务');
    expect(await t.op.idp.accounts.count()).toBe(accountsBefore);
  });
});

describe('without a website app', () => {
  const t = useProvider();

  it('offers a desktop browser the QR code to scan with WeChat on the phone, and no link that would fail there', async () => {
    for (const userAgent of [undefined, WXWORK_UA]) {
      const browser = new Browser(userAgent);
      const { url } = await t.rp.start();
      const { page, uid } = await openLoginPage(browser, t.op.issuer, url);
      expect(page.status).toBe(200);
      expect(page.body).toContain('用手机微信扫描二维码，在手机上确认后，这台电脑就会登录。');
      expect(page.body).toMatch(/<div class="qr"><svg/);
      expect(page.body).not.toContain(`/interaction/${uid}/wechat"`);
      expect(page.body).not.toContain(`/interaction/${uid}/qr"`);
      if (userAgent === WXWORK_UA) {
        const direct = await browser.get(`${t.op.issuer}/interaction/${uid}/wechat`);
        expect(direct.status).toBe(200);
        expect(direct.location).toBeUndefined();
        expect(direct.body).toContain('用手机微信扫描二维码');
      }
    }
  });
});
