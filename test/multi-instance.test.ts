import { describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { Browser } from './helpers/browser.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { testDatabaseUrl } from './helpers/database.js';
import { useTwoInstances, via as viaInstance } from './helpers/setup.js';
import { relyingParty } from './helpers/relying-party.js';
import { newWeChatUser, wechatNewUser } from './helpers/wechat.js';
import { returnFromWeChat } from './helpers/sign-in.js';

// Two instances behind one public issuer, on one database: nothing a later step needs may
// live in one instance's memory. Each step below goes to the instance named in the test.
const pair = useTwoInstances();
const via = (to: RunningProvider, url: string) => viaInstance(to, pair.a.issuer, url);

describe('a sign-in whose steps alternate between two instances', () => {
  it('authorize on A, WeChat callback on B, consent on A and B, token on A, refresh and userinfo on B, logout on A', async () => {
    const { a, b } = pair;
    const rp = await relyingParty(a.issuer);
    let target = a;
    // The relying party's HTTP calls go to whichever instance `target` names.
    rp.config[oidc.customFetch] = (url, options) => fetch(via(target, url), options);

    const browser = new Browser();
    const { url, checks } = await rp.start();
    const login = await browser.follow(url, a.issuer); // A: /auth → /interaction/:uid
    expect(login.body).toContain('微信登录');
    const uid = new URL(login.url).pathname.split('/')[2]!;

    const toWeChat = await browser.get(via(b, `${a.issuer}/interaction/${uid}/wechat`)); // B issues the state
    const wechat = new URL(toWeChat.location!);
    const user = newWeChatUser();
    wechatNewUser('multi-1', user);
    const redirect = { url: wechat, state: wechat.searchParams.get('state')!, callback: via(b, wechat.searchParams.get('redirect_uri')!) };
    // B spends the state and resumes the sign-in in the same request: on to the consent step.
    const toConsent = await returnFromWeChat(browser, a.issuer, redirect, 'multi-1');
    expect(toConsent.status).toBe(303);
    const consent = await browser.get(`${a.issuer}${new URL(toConsent.location!).pathname}`); // A
    expect(consent.body).toContain('Web &lt;App&gt;');

    const consentUid = new URL(consent.url).pathname.split('/')[2]!;
    const confirmed = await browser.post(via(b, `${a.issuer}/interaction/${consentUid}/confirm`)); // B
    const back = await browser.after(confirmed, a.issuer); // A
    const tokens = await rp.finish(back.location!, checks); // token on A
    expect(tokens.claims()?.openid).toBe(user.openid);

    target = b;
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!); // B
    expect(refreshed.claims()?.sub).toBe(tokens.claims()?.sub);
    const info = await oidc.fetchUserInfo(rp.config, refreshed.access_token, tokens.claims()!.sub); // B
    expect(info.nickname).toBe(user.nickname);

    target = a;
    const endSession = oidc.buildEndSessionUrl(rp.config, {
      id_token_hint: refreshed.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out',
    });
    const confirm = await browser.get(endSession.href); // A
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const done = await browser.post(via(b, `${a.issuer}/session/end/confirm`), { xsrf, logout: 'yes' }); // B
    expect(done.location).toBe('http://127.0.0.1:9/signed-out');
  });
});

describe('instances starting together on an empty database', () => {
  it('migrate once and agree on one signing key', async () => {
    const fresh = await testDatabaseUrl();
    const [one, two, three] = await Promise.all([1, 2, 3].map(() => startProvider({}, { databaseUrl: fresh.url })));
    try {
      const jwks = await Promise.all(
        [one, two, three].map(async (p) => (await fetch(`${p!.issuer}/jwks`)).json() as Promise<{ keys: { kid: string }[] }>),
      );
      const kids = jwks.map((set) => set.keys.map((k) => k.kid).join());
      expect(new Set(kids).size).toBe(1);
      expect(jwks[0]!.keys).toHaveLength(1);
    } finally {
      await Promise.all([one, two, three].map((p) => p!.close()));
      await fresh.drop();
    }
  });
});
