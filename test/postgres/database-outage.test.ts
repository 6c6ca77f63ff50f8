import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import nock from 'nock';
import knexFactory, { type Knex } from 'knex';
import * as oidc from 'openid-client';
import { Browser, type Page } from '../helpers/browser.js';
import { startProvider, type RunningProvider } from '../helpers/provider.js';
import { POSTGRES, testDatabaseUrl } from '../helpers/database.js';
import { relyingParty, type RelyingParty } from '../helpers/relying-party.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { WECHAT_API, newWeChatUser, wechatExchange, wechatNewUser, type FakeWeChatUser } from '../helpers/wechat.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat, throughConsent } from '../helpers/sign-in.js';

// The database going away in the middle of a sign-in, and coming back. Only a database
// server can go away (SQLite is a file inside the process), so this file runs on PostgreSQL
// only: the server named by TEST_DATABASE_URL. The service talks to it through a TCP relay
// the test can cut.
jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let proxy: TcpProxy;
let op: RunningProvider;
let rp: RelyingParty;
let direct: Knex; // the test's own view of the database, not through the relay

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  database = await testDatabaseUrl(POSTGRES);
  const target = new URL(database.url);
  proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
  const relayed = new URL(database.url);
  relayed.host = `127.0.0.1:${proxy.port}`;
  op = await startProvider({}, { databaseUrl: relayed.href });
  rp = await relyingParty(op.issuer);
  direct = knexFactory({ client: 'pg', connection: database.url });
});
afterAll(async () => {
  await op.close();
  await proxy.close();
  await direct.destroy();
  await database.drop();
  nock.enableNetConnect();
});

const count = async (table: string) => Number((await direct(table).count({ n: '*' }).first())!.n);
const readyz = async () => (await fetch(`${op.issuer}/readyz`)).status;

/** WeChat answers the new person's profile, and the database goes away right then. */
function userinfoThenOutage(user: FakeWeChatUser) {
  return nock(WECHAT_API)
    .get('/sns/userinfo')
    .query(true)
    .reply(() => {
      proxy.cut();
      return [
        200,
        JSON.stringify({ openid: user.openid, unionid: user.unionid, nickname: user.nickname, headimgurl: user.headimgurl, privilege: [] }),
        { 'Content-Type': 'text/plain' },
      ];
    });
}

function expectTryAgainPage(page: Page): void {
  expect(page.status).toBe(503);
  expect(page.body).toMatch(/<html/i);
  // A page for a person, not a stack trace or a driver's message.
  expect(page.body).not.toMatch(/ECONNREFUSED|KnexTimeoutError|Connection terminated|at .*\.js:\d+/);
  expect(page.body).toMatch(/href="\/interaction\/[\w-]+"/);
}

async function waitUntilReady(): Promise<void> {
  for (let i = 0; i < 100 && (await readyz()) !== 200; i += 1) await new Promise((r) => setTimeout(r, 100));
}

describe('the database going away mid-sign-in', () => {
  it('shows a try-again page, writes nothing half, turns /readyz to 503, and recovers by itself', async () => {
    expect(await readyz()).toBe(200);
    const accounts = await count('accounts');
    const identities = await count('wechat_identities');

    const user = newWeChatUser();
    const browser = new Browser();
    const { url, checks } = await rp.start();
    const { uid } = await openLoginPage(browser, op.issuer, url);
    const redirect = await startWeChat(browser, op.issuer, uid);
    // WeChat has answered the code exchange and the profile; the account is being written
    // when the database goes.
    wechatExchange('outage-1', user);
    userinfoThenOutage(user);
    const failed = await returnFromWeChat(browser, op.issuer, redirect, 'outage-1');
    expectTryAgainPage(failed);
    expect(await readyz()).toBe(503);

    proxy.restore();
    await waitUntilReady();
    expect(await readyz()).toBe(200);
    // Nothing half written: no account, no identity.
    expect(await count('accounts')).toBe(accounts);
    expect(await count('wechat_identities')).toBe(identities);

    // "Try again" leads back into the same sign-in, which now completes.
    const retryHref = /href="(\/interaction\/[\w-]+)"/.exec(failed.body)![1]!;
    const login = await browser.get(`${op.issuer}${retryHref}`);
    expect(login.status).toBe(200);
    const again = await startWeChat(browser, op.issuer, uid);
    wechatNewUser('outage-2', user);
    const back = await throughConsent(browser, op.issuer, await returnFromWeChat(browser, op.issuer, again, 'outage-2'));
    expect(back.location?.startsWith(rp.redirectUri)).toBe(true);
    const tokens = await rp.finish(back.location!, checks);
    expect(tokens.claims()?.openid).toBe(user.openid);
    expect(await count('accounts')).toBe(accounts + 1);
    expect(await count('wechat_identities')).toBe(identities + 1);
  });

  it('answers a sign-in started while the database is away with the same page, and serves the next one once it is back', async () => {
    proxy.cut();
    try {
      const browser = new Browser();
      const { url } = await rp.start();
      // oidc-provider itself needs the database to start a sign-in.
      const page = await browser.follow(url, op.issuer);
      expect(page.status).toBe(503);
      expect(page.body).not.toMatch(/ECONNREFUSED|KnexTimeoutError|Connection terminated|at .*\.js:\d+/);
      expect(await readyz()).toBe(503);
    } finally {
      proxy.restore();
    }
    await waitUntilReady();
    const user = newWeChatUser();
    wechatNewUser('outage-3', user);
    const { claims } = await signIn(new Browser(), op.issuer, rp, 'outage-3');
    expect(claims.openid).toBe(user.openid);
  });

  it("answers the app's token and userinfo calls with 503 temporarily_unavailable, and serves them again once it is back", async () => {
    const user = newWeChatUser();
    wechatNewUser('outage-4', user);
    const { tokens } = await signIn(new Browser(), op.issuer, rp, 'outage-4', 'openid profile offline_access');
    proxy.cut();
    try {
      const refused = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!).catch((error: unknown) => error);
      // A standard client sees a temporary server condition (5xx), not an OAuth refusal that
      // would make it throw the refresh token away.
      const answer = (refused as { cause?: Response }).cause;
      expect(answer?.status).toBe(503);
      expect(answer?.headers.get('retry-after')).toBe('5');
      expect(await answer?.json()).toMatchObject({ error: 'temporarily_unavailable' });
      const userinfo = await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).toBe(503);
      expect(userinfo.headers.get('retry-after')).toBe('5');
      expect(await userinfo.json()).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      proxy.restore();
    }
    await waitUntilReady();
    // Nothing was spent while the database was away: the same refresh token still works.
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(refreshed.claims()?.openid).toBe(user.openid);
  });
});
