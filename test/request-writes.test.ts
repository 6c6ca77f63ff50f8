import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import Koa from 'koa';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { executorFor } from '../src/db/executor.js';
import { knexAdapterFactory } from '../src/oidc/adapter.js';
import { readResumedInteractionFirst, readSessionWithGrantFirst } from '../src/oidc/read-ahead.js';
import { AccountStore } from '../src/accounts/store.js';
import { testDatabaseUrl } from './helpers/database.js';
import { appWith, type App } from './helpers/request-scope-app.js';

// During a request the provider's writes are held and sent together before the answer
// leaves, and a row's session and grant are read with it. What must hold: the request sees
// its own writes, nobody else sees them before the answer, everyone sees them after it, and an
// answer whose writes could not be stored is never sent.
jest.setTimeout(60_000);


/** One request to a fresh app running `handle`; the app is closed once it is answered. */
async function oneRequest(path: string, handle: (ctx: Koa.Context) => Promise<void>): Promise<number> {
  const app = await appWith(handle);
  try {
    const response = await fetch(`${app.url}${path}`);
    await response.arrayBuffer();
    return response.status;
  } finally {
    await app.close();
  }
}

describe('provider writes within a request', () => {
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  let db: Knex;
  let other: Knex; // another instance's view of the same database
  let models: (model: string) => Adapter;

  beforeAll(async () => {
    database = await testDatabaseUrl();
    db = createKnex(database.url);
    await migrateLatest(db);
    other = createKnex(database.url);
    models = knexAdapterFactory(db);
  });
  afterAll(async () => {
    await other.destroy();
    await db.destroy();
    await database.drop();
  });

  const storedIds = async (model: string) => (await other('oidc_models').select('id').where({ model }).orderBy('id')).map((row: { id: string }) => row.id);

  it('reads its own writes at once, and stores them all before answering', async () => {
    const seen: Record<string, unknown> = {};
    const status = await oneRequest('/token', async (ctx) => {
      const sessions = models('Session');
      await sessions.upsert('w-s1', { uid: 'w-uid1', accountId: 'a1' } as never, 3600);
      await sessions.upsert('w-s2', { uid: 'w-uid2', accountId: 'a2' } as never, 3600);
      await sessions.destroy('w-s2');
      seen.byId = (await sessions.find('w-s1'))?.accountId;
      seen.byUid = (await sessions.findByUid('w-uid1'))?.accountId;
      seen.destroyed = await sessions.find('w-s2');
      seen.elsewhereMeanwhile = await storedIds('Session');
      ctx.body = { ok: true };
    });
    expect(status).toBe(200);
    expect(seen).toEqual({ byId: 'a1', byUid: 'a1', destroyed: undefined, elsewhereMeanwhile: [] });
    // Once answered, every other connection sees the writes.
    expect(await storedIds('Session')).toEqual(['w-s1']);
  });

  it('reads a token, its session and its grant in one statement', async () => {
    // Stored beforehand, outside any request (as earlier requests left them).
    await models('Session').upsert('r-session', { uid: 'r-suid', accountId: 'r-acct' } as never, 3600);
    await models('Grant').upsert('r-grant', { accountId: 'r-acct', clientId: 'app' } as never, 3600);
    await models('AccessToken').upsert('r-token', { accountId: 'r-acct', grantId: 'r-grant', sessionUid: 'r-suid' } as never, 3600);
    const reads = jest.spyOn(executorFor(db), 'read');
    const seen: unknown[] = [];
    await oneRequest('/me', async (ctx) => {
      const token = await models('AccessToken').find('r-token');
      const session = await models('Session').findByUid(String(token?.sessionUid));
      const grant = await models('Grant').find(String(token?.grantId));
      seen.push(token?.grantId, session?.accountId, grant?.clientId, reads.mock.calls.length);
      ctx.body = {};
    });
    reads.mockRestore();
    expect(seen).toEqual(['r-grant', 'r-acct', 'app', 1]);
  });

  it("reads a token's account with it, and reads it again once the request changed it", async () => {
    const accounts = new AccountStore(db);
    const person = await accounts.register({ appId: 'wx-acct', openid: 'o-acct', unionid: 'u-acct', nickname: '旧名', headimgurl: 'https://thirdwx.qlogo.cn/a/132' });
    await models('AccessToken').upsert('a-token', { accountId: person.id } as never, 3600);
    const reads = jest.spyOn(executorFor(db), 'read');
    const seen: unknown[] = [];
    await oneRequest('/me', async (ctx) => {
      await models('AccessToken').find('a-token');
      const found = await accounts.findWithIdentities(person.id);
      seen.push(reads.mock.calls.length, found?.account.nickname, found?.identities.map((i) => i.openid));
      await accounts.updateProfile(person.id, { appId: 'wx-acct', openid: 'o-acct', unionid: 'u-acct', nickname: '新名', headimgurl: 'https://thirdwx.qlogo.cn/a/132' });
      seen.push((await accounts.findWithIdentities(person.id))?.account.nickname);
      ctx.body = {};
    });
    reads.mockRestore();
    expect(seen).toEqual([1, '旧名', ['o-acct'], '新名']);
  });

  it('reads the account a login step settled on with its interaction, for the sign-in resuming', async () => {
    const accounts = new AccountStore(db);
    const person = await accounts.register({ appId: 'wx-int', openid: 'o-int', unionid: 'u-int', nickname: '小明', headimgurl: '' });
    await models('Interaction').upsert('i-resume', { uid: 'i-resume', result: { login: { accountId: person.id } } } as never, 3600);
    const reads = jest.spyOn(executorFor(db), 'read');
    const seen: unknown[] = [];
    await oneRequest('/auth/i-resume', async (ctx) => {
      const interaction = await models('Interaction').find('i-resume');
      const found = await accounts.findWithIdentities(String((interaction?.result as { login: { accountId: string } }).login.accountId));
      seen.push(found?.account.nickname, found?.identities.map((i) => i.openid), reads.mock.calls.length);
      ctx.body = {};
    });
    reads.mockRestore();
    expect(seen).toEqual(['小明', ['o-int'], 1]);
  });

  it('reads a resuming sign-in\'s interaction and its session in one statement, whichever oidc-provider asks for first', async () => {
    await models('Session').upsert('rs-session', { uid: 'rs-suid', accountId: 'rs-acct' } as never, 3600);
    await models('Interaction').upsert('rs-interaction', { uid: 'rs-interaction', session: { uid: 'rs-suid', accountId: 'rs-acct' } } as never, 3600);
    const provider = { Interaction: { adapter: models('Interaction') } } as unknown as Provider;
    const reads = jest.spyOn(executorFor(db), 'read');
    const seen: unknown[] = [];
    const app = await appWith(async (ctx) => {
      const session = await models('Session').find('rs-session');
      const interaction = await models('Interaction').find('rs-interaction');
      seen.push(session?.accountId, (interaction?.session as { uid?: string } | undefined)?.uid, reads.mock.calls.length);
      ctx.body = {};
    }, [readResumedInteractionFirst(provider)]);
    try {
      await (await fetch(`${app.url}/auth/rs-interaction`)).arrayBuffer();
    } finally {
      await app.close();
      reads.mockRestore();
    }
    expect(seen).toEqual(['rs-acct', 'rs-suid', 1]);
  });

  describe("the authorization endpoint reads the browser's session and the app's grant in one statement", () => {
    const provider = () => ({ Session: { adapter: models('Session') }, cookieName: (name: string) => `_${name}` }) as unknown as Provider;

    /** GET /auth for `clientId` with the session cookie; what the handler saw and how many reads it took. */
    async function authorize(sessionId: string, clientId: string, grantOf: (session: Record<string, unknown> | undefined) => string | undefined) {
      const reads = jest.spyOn(executorFor(db), 'read');
      const seen: unknown[] = [];
      const app = await appWith(async (ctx) => {
        const session = await models('Session').find(sessionId);
        const grantId = grantOf(session as Record<string, unknown> | undefined);
        const grant = grantId ? await models('Grant').find(grantId) : undefined;
        seen.push(session?.accountId, grant?.clientId, reads.mock.calls.length);
        ctx.body = {};
      }, [readSessionWithGrantFirst(provider())]);
      try {
        const query = new URLSearchParams({ client_id: clientId, response_type: 'code' });
        await (await fetch(`${app.url}/auth?${query}`, { headers: { Cookie: `_session=${sessionId}` } })).arrayBuffer();
      } finally {
        await app.close();
        reads.mockRestore();
      }
      return seen;
    }
    const grantFor = (clientId: string) => (session: Record<string, unknown> | undefined) =>
      (session?.authorizations as Record<string, { grantId?: string }> | undefined)?.[clientId]?.grantId;

    it('for an app whose id holds dots, quotes and brackets', async () => {
      const clientId = 'shop.example "v2" [a]';
      await models('Grant').upsert('sg-grant', { accountId: 'sg-acct', clientId } as never, 3600);
      await models('Grant').upsert('sg-other', { accountId: 'sg-acct', clientId: 'other' } as never, 3600);
      await models('Session').upsert('sg-session', {
        uid: 'sg-suid', accountId: 'sg-acct',
        authorizations: { other: { grantId: 'sg-other' }, [clientId]: { grantId: 'sg-grant' } },
      } as never, 3600);
      expect(await authorize('sg-session', clientId, grantFor(clientId))).toEqual(['sg-acct', clientId, 1]);
    });

    it('and a grant that is gone reads as absent (asked for once more)', async () => {
      await models('Session').upsert('sg-gone', { uid: 'sg-gone-uid', accountId: 'sg-acct', authorizations: { app: { grantId: 'sg-no-grant' } } } as never, 3600);
      expect(await authorize('sg-gone', 'app', grantFor('app'))).toEqual(['sg-acct', undefined, 2]);
    });

    it('a session without a grant for this app, or no session at all, reads as before', async () => {
      await models('Grant').upsert('sg-g2', { accountId: 'sg-acct', clientId: 'other' } as never, 3600);
      await models('Session').upsert('sg-nogrant', { uid: 'sg-ng-uid', accountId: 'sg-acct', authorizations: { other: { grantId: 'sg-g2' } } } as never, 3600);
      expect(await authorize('sg-nogrant', 'app', grantFor('app'))).toEqual(['sg-acct', undefined, 1]);
      // A cookie naming no stored session: nothing to find, read once.
      expect(await authorize('sg-unknown', 'app', grantFor('app'))).toEqual([undefined, undefined, 1]);
    });
  });

  it('sees a session that expired or is gone as absent, as a separate read would', async () => {
    await models('AccessToken').upsert('g-token', { accountId: 'g-acct', grantId: 'g-nogrant', sessionUid: 'g-nosession' } as never, 3600);
    const seen: unknown[] = [];
    await oneRequest('/me', async (ctx) => {
      await models('AccessToken').find('g-token');
      seen.push(await models('Session').findByUid('g-nosession'), await models('Grant').find('g-nogrant'));
      ctx.body = {};
    });
    expect(seen).toEqual([undefined, undefined]);
  });

  it('sees a code it spent as spent, and stores the spending with its other writes', async () => {
    await models('AuthorizationCode').upsert('c-code', { accountId: 'c-acct', grantId: 'c-grant' } as never, 60);
    let consumed: unknown;
    const status = await oneRequest('/token', async (ctx) => {
      const codes = models('AuthorizationCode');
      await codes.find('c-code');
      await codes.consume('c-code');
      consumed = (await codes.find('c-code'))?.consumed;
      ctx.body = {};
    });
    expect(status).toBe(200);
    expect(typeof consumed).toBe('number');
    expect((await other('oidc_models').first('consumed_at').where({ model: 'AuthorizationCode', id: 'c-code' }))?.consumed_at).not.toBeNull();
  });

  it('lets only one of two requests spending one code at the same moment store anything', async () => {
    await models('AuthorizationCode').upsert('twice', { accountId: 'c-acct', grantId: 'c-grant' } as never, 60);
    let arrived = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => { bothRead = resolve; });
    // Each request reads the code unspent (both before either is done), spends it and issues
    // a token of its own, as oidc-provider's token endpoint does.
    const app = await appWith(async (ctx) => {
      const codes = models('AuthorizationCode');
      const code = await codes.find('twice');
      arrived += 1;
      if (arrived === 2) bothRead();
      await barrier;
      if (code?.consumed) return void (ctx.status = 400);
      await codes.consume('twice');
      await models('AccessToken').upsert(`token-of-${ctx.query.n}`, { accountId: 'c-acct', grantId: 'c-grant' } as never, 3600);
      ctx.body = { access_token: `token-of-${ctx.query.n}` };
    });
    try {
      const answers = await Promise.all([1, 2].map(async (n) => {
        const response = await fetch(`${app.url}/token?n=${n}`, { method: 'POST' });
        return { status: response.status, body: await response.json() as Record<string, unknown> };
      }));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
      expect(answers.find((a) => a.status === 400)!.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
      const winner = answers.find((a) => a.status === 200)!.body.access_token;
      expect((await other('oidc_models').select('id').where({ model: 'AccessToken' }).whereLike('id', 'token-of-%')).map((r: { id: string }) => r.id)).toEqual([winner]);
    } finally {
      await app.close();
    }
  });
});

describe('an answer whose writes cannot be stored', () => {
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  let db: Knex;

  beforeAll(async () => {
    database = await testDatabaseUrl();
    db = createKnex(database.url);
    await migrateLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  /** A handler that prepares a success whose rows will fail to store (their table is gone). */
  async function failingApp(answer: (ctx: Koa.Context) => void): Promise<App> {
    return appWith(async (ctx) => {
      await knexAdapterFactory(db)('AccessToken').upsert('lost-token', { accountId: 'x' } as never, 3600);
      answer(ctx);
    });
  }

  it('is replaced by a server_error for a relying party, with no token in it', async () => {
    await db.schema.renameTable('oidc_models', 'oidc_models_away');
    const app = await failingApp((ctx) => {
      ctx.body = { access_token: 'lost-token', token_type: 'Bearer' };
    });
    try {
      const response = await fetch(`${app.url}/token`, { method: 'POST' });
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(JSON.parse(body)).toEqual({ error: 'server_error', error_description: expect.any(String) });
      expect(body).not.toContain('lost-token');
    } finally {
      await app.close();
      await db.schema.renameTable('oidc_models_away', 'oidc_models');
    }
  });

  it('is replaced by an error page for a browser, without the redirect', async () => {
    await db.schema.renameTable('oidc_models', 'oidc_models_away');
    const app = await failingApp((ctx) => ctx.redirect('https://app.example/cb?code=lost'));
    try {
      const response = await fetch(`${app.url}/auth/some-interaction`, { redirect: 'manual' });
      expect(response.status).toBe(500);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toMatch(/<html[\s\S]*server_error/i);
    } finally {
      await app.close();
      await db.schema.renameTable('oidc_models_away', 'oidc_models');
    }
  });
});
