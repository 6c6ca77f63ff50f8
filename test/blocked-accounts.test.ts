import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import * as oidc from 'openid-client';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { blockAccount } from '../src/accounts/blocking.js';
import { revokeAccounts } from '../src/oidc/stored-rows.js';
import { Browser } from './helpers/browser.js';
import { runOperatorCommand } from './helpers/command.js';
import { testDatabaseUrl } from './helpers/database.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat } from './helpers/sign-in.js';
import { newWeChatUser, wechatNewUser, wechatReturningUser } from './helpers/wechat.js';

// The operator blocks an account with `npm run accounts -- block <sub>`, on the same database
// as the running provider.
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let op: RunningProvider;
let rp: RelyingParty;

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  database = await testDatabaseUrl();
  op = await startProvider({}, { databaseUrl: database.url });
  rp = await relyingParty(op.issuer);
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  await op.close();
  await database.drop();
  nock.enableNetConnect();
});

const accounts = (...args: string[]) => runOperatorCommand('accounts-cli.js', database.url, args);

const rowOf = (listing: string, sub: string) =>
  listing
    .split('\n')
    .find((line) => line.startsWith(sub))
    ?.split(/\s{2,}/);

describe('blocking an account', () => {
  it('revokes its sessions and tokens at once, and its next sign-in ends in access_denied with a page', async () => {
    const user = newWeChatUser({ nickname: '被停用的人 🚫' });
    wechatNewUser('block-1', user);
    const browser = new Browser();
    const { tokens, claims } = await signIn(browser, op.issuer, rp, 'block-1', 'openid profile offline_access');
    expect(tokens.refresh_token).toBeDefined();
    await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub)).resolves.toMatchObject({ sub: claims.sub });

    const listed = await accounts('list');
    expect(rowOf(listed.stdout, claims.sub)).toEqual([
      claims.sub,
      'active',
      expect.any(String),
      user.nickname,
      `wx1234567890abcdef:${user.openid}`,
    ]);

    const blocked = await accounts('block', claims.sub);
    expect(blocked.code).toBe(0);
    expect(blocked.stdout).toMatch(new RegExp(`^blocked ${claims.sub}; revoked [1-9]\\d* session and token records?\\n$`));

    // The app loses access at once: no refresh, no userinfo.
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub)).rejects.toMatchObject({ status: 401 });

    // The person's session is gone too: a silent request finds nobody signed in.
    const silent = await rp.start('openid', { prompt: 'none' });
    const answer = await browser.follow(silent.url, op.issuer);
    expect(new URL(answer.location!).searchParams.get('error')).toBe('login_required');

    // Signing in again: WeChat knows the person, we refuse them with a page, then tell the app.
    wechatReturningUser('block-2', user);
    const again = await rp.start();
    const { uid } = await openLoginPage(browser, op.issuer, again.url);
    const page = await returnFromWeChat(browser, op.issuer, await startWeChat(browser, op.issuer, uid), 'block-2');
    expect(page.status).toBe(403);
    expect(page.body).toContain('账号已停用');
    const back = /<a[^>]+href="([^"]+)"[^>]*>\s*返回应用/.exec(page.body)?.[1];
    expect(back).toBeDefined();
    const toApp = await browser.follow(back!.replaceAll('&amp;', '&'), op.issuer);
    const callback = new URL(toApp.location!);
    expect(callback.href.startsWith(rp.redirectUri)).toBe(true);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();

    expect(rowOf((await accounts('list', '--blocked')).stdout, claims.sub)?.[1]).toBe('blocked');
  });

  it('lets an unblocked account sign in again with the same sub', async () => {
    const user = newWeChatUser();
    wechatNewUser('unblock-1', user);
    const first = await signIn(new Browser(), op.issuer, rp, 'unblock-1');
    expect((await accounts('block', first.claims.sub)).code).toBe(0);

    const unblocked = await accounts('unblock', first.claims.sub);
    expect(unblocked).toMatchObject({ code: 0, stdout: `unblocked ${first.claims.sub}\n` });
    expect((await accounts('list', '--blocked')).stdout).not.toContain(first.claims.sub);

    wechatReturningUser('unblock-2', user);
    const second = await signIn(new Browser(), op.issuer, rp, 'unblock-2');
    expect(second.claims.sub).toBe(first.claims.sub);
  });

  it('leaves other accounts signed in', async () => {
    const [kept, gone] = [newWeChatUser(), newWeChatUser()];
    wechatNewUser('others-1', kept);
    wechatNewUser('others-2', gone);
    const keptSignIn = await signIn(new Browser(), op.issuer, rp, 'others-1', 'openid profile offline_access');
    const goneSignIn = await signIn(new Browser(), op.issuer, rp, 'others-2', 'openid profile offline_access');

    expect((await accounts('block', goneSignIn.claims.sub)).code).toBe(0);

    const refreshed = await oidc.refreshTokenGrant(rp.config, keptSignIn.tokens.refresh_token!);
    expect(refreshed.claims()!.sub).toBe(keptSignIn.claims.sub);
  });
});

describe('npm run accounts', () => {
  it('names an unknown sub or a wrong command line and exits non-zero', async () => {
    const unknown = await accounts('block', 'no-such-account');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^accounts block failed: no account with sub no-such-account$/m);
    const missing = await accounts('block');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/block takes one argument, the account's sub/);
    expect(missing.stderr).toMatch(/Usage: npm run accounts/);
    expect((await accounts('list', '--limit', 'all')).stderr).toMatch(/--limit needs a whole number/);
    expect((await accounts('delete', 'x')).stderr).toMatch(/unknown command delete/);
  });
});

describe('upgrading a database that already holds sessions and tokens', () => {
  it('finds the account of rows written before blocking existed, so blocking revokes them too', async () => {
    const older = await testDatabaseUrl();
    const db = createKnex(older.url);
    try {
      for (let i = 0; i < 3; i += 1) await db.migrate.up(); // the schema before this feature
      const now = Date.now();
      await db('accounts').insert({ id: 'old-account', nickname: 'x', avatar_url: '', disabled: false, created_at: now, updated_at: now });
      await db('oidc_models').insert([
        {
          model: 'Session',
          id: 's1',
          payload: JSON.stringify({ accountId: 'old-account', uid: 'u1' }),
          uid: 'u1',
          expires_at: now + 60_000,
        },
        {
          model: 'RefreshToken',
          id: 'r1',
          payload: JSON.stringify({ accountId: 'old-account', grantId: 'g1' }),
          grant_id: 'g1',
          expires_at: now + 60_000,
        },
        {
          model: 'RefreshToken',
          id: 'r2',
          payload: JSON.stringify({ accountId: 'someone-else', grantId: 'g2' }),
          grant_id: 'g2',
          expires_at: now + 60_000,
        },
        { model: 'Client', id: 'c1', payload: JSON.stringify({ client_id: 'c1' }), expires_at: null },
      ]);

      await migrateLatest(db);
      expect(await blockAccount(db, 'old-account', revokeAccounts)).toEqual({ found: true, revoked: 2 });
      expect((await db('oidc_models').select('id').orderBy('id')).map((row: { id: string }) => row.id)).toEqual(['c1', 'r2']);
    } finally {
      await db.destroy();
      await older.drop();
    }
  });
});
