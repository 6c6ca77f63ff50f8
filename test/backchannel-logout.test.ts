import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { revokeAccounts } from '../src/oidc/stored-rows.js';
import { Browser } from './helpers/browser.js';
import { runOperatorCommand } from './helpers/command.js';
import { testDatabaseUrl } from './helpers/database.js';
import { CLIENTS_FILE, startProvider, type RunningProvider } from './helpers/provider.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { signIn } from './helpers/sign-in.js';
import { newWeChatUser, wechatNewUser } from './helpers/wechat.js';

// OpenID Connect Back-Channel Logout 1.0: an app with a backchannel_logout_uri is told,
// server to server, when a person's session with it ends here: on sign-out, and when the
// operator blocks the account (a merge goes the same way as a block).
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let op: RunningProvider;
let rp: RelyingParty;
let app: Server;
/** What the app's logout endpoint took, and how it answers the next ones. */
const received: string[] = [];
let refuseNext = 0;

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (refuseNext > 0) {
        refuseNext -= 1;
        res.statusCode = 503;
      } else {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.statusCode = 200;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const clients = JSON.parse(readFileSync(CLIENTS_FILE, 'utf8')) as Array<Record<string, unknown>>;
  const webApp = clients.find((client) => client.client_id === 'web-app')!;
  webApp.backchannel_logout_uri = `http://127.0.0.1:${(app.address() as AddressInfo).port}/backchannel-logout`;
  webApp.backchannel_logout_session_required = true;
  const file = join(mkdtempSync(join(tmpdir(), 'idp-bcl-')), 'clients.json');
  writeFileSync(file, JSON.stringify(clients));
  database = await testDatabaseUrl();
  op = await startProvider({ CLIENTS_FILE: file }, { databaseUrl: database.url });
  rp = await relyingParty(op.issuer);
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  await op.close();
  await database.drop();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  nock.enableNetConnect();
});

let people = 0;
async function signedIn(scope = 'openid profile') {
  people += 1;
  wechatNewUser(`bcl-${people}`, newWeChatUser());
  const browser = new Browser();
  const result = await signIn(browser, op.issuer, rp, `bcl-${people}`, scope);
  return { ...result, browser, idToken: decodeJwt(result.tokens.id_token!) };
}

const noticesFor = async (sub: string) => Number((await op.idp.db('logout_notices').where({ sub }).count({ n: '*' }))[0]!.n);

/** The logout token the app takes after its first `seen`, within `ms`, verified as the app must (§2.6). */
async function logoutTokenAfter(seen: number, ms = 10_000): Promise<JWTPayload> {
  const deadline = Date.now() + ms;
  while (received.length === seen) {
    if (Date.now() > deadline) throw new Error('no logout token arrived');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { payload } = await jwtVerify(received[seen]!, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), {
    issuer: op.issuer,
    audience: 'web-app',
    typ: 'logout+jwt',
  });
  return payload;
}

describe('back-channel logout', () => {
  it('is announced in discovery, and ID tokens carry the session id the app will be told about', async () => {
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
    const { idToken } = await signedIn();
    expect(idToken.sid).toEqual(expect.any(String));
  });

  it('tells the app when the person signs out here', async () => {
    const { tokens, browser, idToken } = await signedIn();
    const endSession = oidc.buildEndSessionUrl(rp.config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out',
    });
    const page = await browser.get(endSession.href);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
    const seen = received.length;
    await browser.post(`${op.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
    const logout = await logoutTokenAfter(seen, 2000);
    expect(logout).toMatchObject({ sub: idToken.sub, sid: idToken.sid, events: { [LOGOUT_EVENT]: {} } });
    expect(logout.nonce).toBeUndefined();
  });

  it('tells the app when the operator blocks the account, through the command in another process', async () => {
    const { idToken } = await signedIn('openid profile offline_access');
    const seen = received.length;
    const blocked = await runOperatorCommand('accounts-cli.js', database.url, ['block', idToken.sub!]);
    expect(blocked.code).toBe(0);
    const logout = await logoutTokenAfter(seen);
    expect(logout).toMatchObject({ sub: idToken.sub, sid: idToken.sid, events: { [LOGOUT_EVENT]: {} } });
    expect(await noticesFor(idToken.sub!)).toBe(0);
  });

  it('tries again when the app does not take it, until it does', async () => {
    const { idToken } = await signedIn();
    refuseNext = 1;
    const blocked = await runOperatorCommand('accounts-cli.js', database.url, ['block', idToken.sub!]);
    expect(blocked.code).toBe(0);
    // Refused once: kept, with the next try some seconds later.
    const deadline = Date.now() + 10_000;
    let notice: { attempts: number; next_at: string | number } | undefined;
    while (Date.now() < deadline) {
      notice = await op.idp.db('logout_notices').first('attempts', 'next_at').where({ sub: idToken.sub });
      if (notice && refuseNext === 0 && Number(notice.next_at) < Date.now() + 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refuseNext).toBe(0);
    expect(notice).toMatchObject({ attempts: 1 });
    expect(Number(notice!.next_at)).toBeGreaterThan(Date.now());
    // Due again now: the next round delivers it.
    const seen = received.length;
    await op.idp.db('logout_notices').where({ sub: idToken.sub }).update({ next_at: Date.now() });
    expect(await logoutTokenAfter(seen)).toMatchObject({ sub: idToken.sub, sid: idToken.sid });
    expect(await noticesFor(idToken.sub!)).toBe(0);
  });

  it('is owed to every app of every session of the accounts revoked (a block, a merge), and sub-wide to an app holding only a grant', async () => {
    const row = (model: string, id: string, payload: object) => ({
      model,
      id,
      payload: JSON.stringify(payload),
      account_id: 'gone-1',
      expires_at: Date.now() + 60_000,
    });
    await op.idp.db('oidc_models').insert([
      row('Session', 's1', {
        accountId: 'gone-1',
        authorizations: { 'web-app': { sid: 'sid-1', grantId: 'g1' }, 'first-party': { sid: 'sid-2', grantId: 'g2' } },
      }),
      row('Session', 's2', { accountId: 'gone-1', authorizations: { 'web-app': { sid: 'sid-3', grantId: 'g3' } } }),
      row('Grant', 'g1', { accountId: 'gone-1', clientId: 'web-app' }),
      row('Grant', 'g4', { accountId: 'gone-1', clientId: 'demo' }),
    ]);
    // Held back from delivery meanwhile: only what was recorded is looked at.
    await op.idp.db.transaction(async (trx) => {
      await revokeAccounts(trx, ['gone-1'], { keepSession: 's2' });
      const owed = await trx('logout_notices').select('client_id', 'sub', 'sid').where({ sub: 'gone-1' }).orderBy(['client_id', 'sid']);
      expect(owed).toEqual([
        { client_id: 'demo', sub: 'gone-1', sid: null },
        { client_id: 'first-party', sub: 'gone-1', sid: 'sid-2' },
        { client_id: 'web-app', sub: 'gone-1', sid: 'sid-1' },
        { client_id: 'web-app', sub: 'gone-1', sid: 'sid-3' },
      ]);
      await trx('logout_notices').where({ sub: 'gone-1' }).del();
    });
  });
});
