import { describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { Browser } from './helpers/browser.js';
import { newWeChatUser, wechatNewUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { relyingParty } from './helpers/relying-party.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat, throughConsent } from './helpers/sign-in.js';

const t = useProvider();

let codes = 0;
async function freshSignIn(party = t.rp, scope = 'openid profile') {
  codes += 1;
  const user = newWeChatUser();
  wechatNewUser(`flow-${codes}`, user);
  const browser = new Browser();
  const result = await signIn(browser, t.op.issuer, party, `flow-${codes}`, scope);
  return { ...result, user, browser };
}

describe('consent', () => {
  it('shows a third-party app, its name escaped, and what it will receive; allow finishes the sign-in', async () => {
    const user = newWeChatUser();
    wechatNewUser('consent-1', user);
    const browser = new Browser();
    const { url, checks } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const consent = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'consent-1');

    expect(consent.status).toBe(200);
    expect(consent.body).toContain('Web &lt;App&gt; 🍜');
    expect(consent.body).toContain('昵称和头像');
    expect(consent.body).toContain(user.nickname);
    const consentUid = new URL(consent.url).pathname.split('/')[2]!;
    const allowed = await browser.post(`${t.op.issuer}/interaction/${consentUid}/confirm`);
    const back = await browser.after(allowed, t.op.issuer);
    const tokens = await t.rp.finish(back.location!, checks);
    expect(tokens.claims()?.openid).toBe(user.openid);
  });

  it('sends access_denied to the app when the person denies', async () => {
    const user = newWeChatUser();
    wechatNewUser('consent-deny', user);
    const browser = new Browser();
    const { url } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const consent = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'consent-deny');
    const consentUid = new URL(consent.url).pathname.split('/')[2]!;
    const denied = await browser.post(`${t.op.issuer}/interaction/${consentUid}/abort`);
    const back = await browser.after(denied, t.op.issuer);
    expect(new URL(back.location!).searchParams.get('error')).toBe('access_denied');
  });

  it('grants a skip_consent app silently, with only the scopes it asked for', async () => {
    const firstParty = await relyingParty(t.op.issuer, 'first-party');
    const user = newWeChatUser();
    wechatNewUser('fp-1', user);
    const browser = new Browser();
    const { url, checks } = await firstParty.start('openid');
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    const back = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'fp-1');

    expect(back.location?.startsWith(firstParty.redirectUri)).toBe(true); // no consent page
    const tokens = await firstParty.finish(back.location!, checks);
    expect(tokens.scope).toBe('openid');
    expect(tokens.claims()?.openid).toBe(user.openid);
    expect(tokens.claims()?.nickname).toBeUndefined(); // profile was not asked for
  });

  it('does not ask again when the person signs in to the same app in the same browser', async () => {
    const { browser, user, claims } = await freshSignIn();
    const { url, checks } = await t.rp.start();
    const page = await browser.follow(url, t.op.issuer); // the session is still there: straight back
    expect(page.location?.startsWith(t.rp.redirectUri)).toBe(true);
    const tokens = await t.rp.finish(page.location!, checks);
    expect(tokens.claims()?.sub).toBe(claims.sub);
    expect(tokens.claims()?.openid).toBe(user.openid);
  });
});

describe('tokens', () => {
  it('answers userinfo with the same claims as the ID token', async () => {
    const { tokens, claims, user } = await freshSignIn();
    const info = await oidc.fetchUserInfo(t.rp.config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({
      sub: claims.sub,
      openid: user.openid,
      unionid: user.unionid,
      nickname: user.nickname,
      name: user.nickname,
      headimgurl: user.headimgurl.replace('http://', 'https://'),
    });
  });

  it('rotates refresh tokens: the new one works, the used one is refused', async () => {
    const { tokens, claims } = await freshSignIn();
    expect(tokens.refresh_token).toBeDefined();
    const refreshed = await oidc.refreshTokenGrant(t.rp.config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(claims.sub);
    expect(refreshed.claims()?.nickname).toBe(claims.nickname);

    await expect(oidc.refreshTokenGrant(t.rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Reusing a rotated token is a sign of theft: the whole grant is revoked.
    await expect(oidc.refreshTokenGrant(t.rp.config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  /** What is left of a grant: its rows, and whether the tokens an app got still work. */
  const grantRows = async (grantId: string) =>
    Number(
      (
        await t.op.idp
          .db('oidc_models')
          .where({ grant_id: grantId })
          .whereNot({ model: 'Interaction' })
          .orWhere({ model: 'Grant', id: grantId })
          .count({ n: '*' })
      )[0]!.n,
    );
  const grantOf = async (code: string) =>
    (await t.op.idp.db('oidc_models').first('grant_id').where({ model: 'AuthorizationCode', id: code }))?.grant_id as string;

  it('treats a code sent twice at the same moment as a reuse: the grant is revoked, and no token of it works', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      codes += 1;
      wechatNewUser(`flow-${codes}`, newWeChatUser());
      const browser = new Browser();
      const { url, checks } = await t.rp.start();
      const { uid } = await openLoginPage(browser, t.op.issuer, url);
      const back = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), `flow-${codes}`);
      const callback = (await throughConsent(browser, t.op.issuer, back)).location!;
      expect(callback).toContain(t.rp.redirectUri);
      const grantId = await grantOf(new URL(callback).searchParams.get('code')!);
      const outcomes = await Promise.allSettled([t.rp.finish(callback, checks), t.rp.finish(callback, checks)]);
      // One request may have stored its tokens before the other revoked the grant; if its
      // tokens were still held, it got invalid_grant too.
      const succeeded = outcomes.filter((o) => o.status === 'fulfilled');
      expect(succeeded.length).toBeLessThanOrEqual(1);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ error: 'invalid_grant' });
      for (const o of succeeded) {
        await expect(oidc.fetchUserInfo(t.rp.config, o.value.access_token, oidc.skipSubjectCheck)).rejects.toMatchObject({ status: 401 });
      }
      expect(await grantRows(grantId)).toBe(0);
    }
  });

  it('treats a refresh token sent twice at the same moment as a reuse: the grant is revoked', async () => {
    const { tokens } = await freshSignIn();
    const outcomes = await Promise.allSettled([
      oidc.refreshTokenGrant(t.rp.config, tokens.refresh_token!),
      oidc.refreshTokenGrant(t.rp.config, tokens.refresh_token!),
    ]);
    const succeeded = outcomes.filter((o) => o.status === 'fulfilled');
    expect(succeeded.length).toBeLessThanOrEqual(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ error: 'invalid_grant' });
    for (const o of succeeded) {
      await expect(oidc.refreshTokenGrant(t.rp.config, o.value.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    await expect(oidc.fetchUserInfo(t.rp.config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toMatchObject({ status: 401 });
  });

  it('answers introspection and userinfo from the account as it is now: the surviving token of a blocked account is dead', async () => {
    const { tokens, claims } = await freshSignIn();
    expect((await oidc.tokenIntrospection(t.rp.config, tokens.access_token)).active).toBe(true);
    // As if the token had been stored by a request in flight while the block ran.
    await t.op.idp.db('accounts').where({ id: claims.sub }).update({ disabled: true });
    try {
      expect((await oidc.tokenIntrospection(t.rp.config, tokens.access_token)).active).toBe(false);
      await expect(oidc.fetchUserInfo(t.rp.config, tokens.access_token, claims.sub)).rejects.toMatchObject({ status: 401 });
    } finally {
      await t.op.idp.db('accounts').where({ id: claims.sub }).update({ disabled: false });
    }
    expect((await oidc.tokenIntrospection(t.rp.config, tokens.access_token)).active).toBe(true);
  });

  it('introspects and revokes access tokens', async () => {
    const { tokens } = await freshSignIn();
    const active = await oidc.tokenIntrospection(t.rp.config, tokens.access_token);
    expect(active.active).toBe(true);
    await oidc.tokenRevocation(t.rp.config, tokens.access_token);
    const revoked = await oidc.tokenIntrospection(t.rp.config, tokens.access_token);
    expect(revoked.active).toBe(false);
    await expect(oidc.fetchUserInfo(t.rp.config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toBeDefined();
  });

  it('requires PKCE from every client', async () => {
    const url = new URL(`${t.op.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'web-app',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: t.rp.redirectUri,
      state: 'abc',
    }).toString();
    const page = await new Browser().get(url.href);
    const back = new URL(page.location!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);
  });
});

describe('logout', () => {
  it('shows our sign-out page, ends the session and returns to the app', async () => {
    const { tokens, browser } = await freshSignIn();
    const endSession = oidc.buildEndSessionUrl(t.rp.config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out',
      state: 'bye',
    });
    const page = await browser.get(endSession.href);
    expect(page.status).toBe(200);
    expect(page.body).toContain('退出登录');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(xsrf).toBeDefined();
    const done = await browser.post(`${t.op.issuer}/session/end/confirm`, { xsrf: xsrf!, logout: 'yes' });
    expect(done.location).toBe('http://127.0.0.1:9/signed-out?state=bye');

    // Signed out: the next authorization asks the person to sign in again.
    const { url } = await t.rp.start();
    const again = await browser.follow(url, t.op.issuer);
    expect(again.body).toContain('微信登录');
  });
});

describe('pages for broken or stale requests', () => {
  it('shows an "expired" page, not a stack, for an unknown interaction', async () => {
    const page = await new Browser().get(`${t.op.issuer}/interaction/does-not-exist`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('登录已失效');
  });

  it('shows a readable page naming the OAuth error for an unknown client', async () => {
    const page = await new Browser().get(`${t.op.issuer}/auth?client_id=nope&response_type=code&scope=openid`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('invalid_client');
    expect(page.body).toContain('未知的应用');
  });

  it('shows our 404 page for an unknown path', async () => {
    const page = await new Browser().get(`${t.op.issuer}/no/such/page`);
    expect(page.status).toBe(404);
    expect(page.body).toContain('页面不存在');
  });
});

describe('returning people', () => {
  it('keeps one account when the same person signs in twice at once', async () => {
    const user = newWeChatUser();
    const browsers = [new Browser(), new Browser()];
    const starts = await Promise.all(
      browsers.map(async (browser) => {
        const { url } = await t.rp.start();
        const { uid } = await openLoginPage(browser, t.op.issuer, url);
        return startWeChat(browser, t.op.issuer, uid);
      }),
    );
    wechatNewUser('race-1', user);
    wechatNewUser('race-2', user);
    const before = await t.op.idp.accounts.count();
    const pages = await Promise.all([
      returnFromWeChat(browsers[0]!, t.op.issuer, starts[0]!, 'race-1'),
      returnFromWeChat(browsers[1]!, t.op.issuer, starts[1]!, 'race-2'),
    ]);
    pages.forEach((page) => expect(page.status).toBe(200)); // both reach consent
    expect(await t.op.idp.accounts.count()).toBe(before + 1);
  });
});

describe('pushed authorization requests', () => {
  it('are off: nobody may store a request object before anyone signs in', async () => {
    // The attack: 56 KB request bodies from a public client, each stored for as long as a sign-in lives.
    const discovery = (await (await fetch(`${t.op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBeUndefined();
    const response = await fetch(`${t.op.issuer}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'web-app', response_type: 'code', scope: 'openid', state: 'x'.repeat(50_000) }),
    });
    expect(response.status).toBe(404);
  });
});

describe('an authorization request past the size bounds', () => {
  // The attack: /auth with a padded state, over and over, each stored for as long as a sign-in lives.
  const countInteractions = async () => Number((await t.op.idp.db('oidc_models').where({ model: 'Interaction' }).count({ n: '*' }))[0]!.n);

  it.each([
    ['a long state', { state: 'x'.repeat(1025) }, /state is longer than 1024 characters/],
    ['a long nonce', { nonce: 'x'.repeat(513) }, /nonce is longer than 512 characters/],
    ['a huge query', { claims: JSON.stringify({ userinfo: { x: { values: ['y'.repeat(9000)] } } }) }, /larger than 8192 bytes/],
  ])('gets invalid_request and stores nothing (%s)', async (_name, extra, message) => {
    const before = await countInteractions();
    const { url } = await t.rp.start('openid', extra);
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(message);
    expect(await countInteractions()).toBe(before);
  });

  it('lets an ordinary one through', async () => {
    const { url } = await t.rp.start('openid', { state: 's'.repeat(200) });
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(303);
  });
});
