import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type Koa from 'koa';
import type { Knex } from 'knex';
import { errors, type Adapter } from 'oidc-provider';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { knexAdapterFactory } from '../src/oidc/adapter.js';
import { GrantGone, writeSender } from '../src/oidc/send-writes.js';
import { revokeAccounts } from '../src/oidc/stored-rows.js';
import type { HeldWrite } from '../src/oidc/held-writes.js';
import { testDatabaseUrl } from './helpers/database.js';
import { appWith, type App } from './helpers/fronted-app.js';

// The provider's storage: oidc-provider's Adapter interface, each call one statement, seen at
// once by every other connection (another instance of the service).
jest.setTimeout(60_000);

describe('the provider adapter', () => {
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

  const storedIds = async (model: string) =>
    (await other('oidc_models').select('id').where({ model }).orderBy('id')).map((row: { id: string }) => row.id);

  it('stores a model where every instance reads it at once, by id, uid and user code', async () => {
    await models('Session').upsert('s1', { uid: 'uid-1', accountId: 'a1' }, 3600);
    await models('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH', accountId: 'a1' }, 600);
    expect(await storedIds('Session')).toEqual(['s1']);
    const elsewhere = knexAdapterFactory(other);
    expect((await elsewhere('Session').find('s1'))?.accountId).toBe('a1');
    expect((await elsewhere('Session').findByUid('uid-1'))?.accountId).toBe('a1');
    expect((await elsewhere('DeviceCode').findByUserCode('ABCD-EFGH'))?.accountId).toBe('a1');
    // Another model with the same id is another row.
    expect(await elsewhere('Grant').find('s1')).toBeUndefined();
  });

  it('replaces a row on a second upsert, and forgets it once destroyed', async () => {
    await models('Interaction').upsert('i1', { uid: 'i1', params: { n: 1 } }, 600);
    await models('Interaction').upsert('i1', { uid: 'i1', params: { n: 2 } }, 600);
    expect((await models('Interaction').find('i1'))?.params).toEqual({ n: 2 });
    await models('Interaction').destroy('i1');
    expect(await models('Interaction').find('i1')).toBeUndefined();
    expect(await storedIds('Interaction')).toEqual([]);
  });

  it('reads an expired row as absent, before the cleanup deletes it', async () => {
    await models('AccessToken').upsert('expired', { accountId: 'a1' }, 3600);
    await db('oidc_models')
      .where({ model: 'AccessToken', id: 'expired' })
      .update({ expires_at: Date.now() - 1 });
    expect(await models('AccessToken').find('expired')).toBeUndefined();
  });

  it('revokes a grant model by model: tokens go, the interaction naming the grant stays', async () => {
    await models('AccessToken').upsert('g-token', { accountId: 'a1', grantId: 'g1' }, 3600);
    await models('AccessToken').upsert('g-other', { accountId: 'a1', grantId: 'g2' }, 3600);
    await models('Interaction').upsert('g-interaction', { uid: 'g-interaction', grantId: 'g1' }, 600);
    await models('AccessToken').revokeByGrantId('g1');
    expect(await models('AccessToken').find('g-token')).toBeUndefined();
    expect(await models('AccessToken').find('g-other')).toBeDefined();
    expect(await models('Interaction').find('g-interaction')).toBeDefined();
  });

  it('marks a code used, and reads it back as used', async () => {
    await models('AuthorizationCode').upsert('c-code', { accountId: 'a1', grantId: 'c-grant' }, 60);
    await models('AuthorizationCode').consume('c-code');
    expect(typeof (await models('AuthorizationCode').find('c-code'))?.consumed).toBe('number');
  });

  it('lets only one of two uses of one code at the same moment through; the other is invalid_grant', async () => {
    await models('AuthorizationCode').upsert('twice', { accountId: 'a1', grantId: 'c-grant' }, 60);
    // Two instances, each having read the code unused, spend it at the same moment.
    const outcomes = await Promise.allSettled(
      [models, knexAdapterFactory(other)].map((adapter) => adapter('AuthorizationCode').consume('twice')),
    );
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')!;
    expect(loser.reason).toBeInstanceOf(errors.InvalidGrant);
  });

  it('has the loser of that race revoke the grant, as a later reuse does', async () => {
    await models('Grant').upsert('raced-grant', { accountId: 'a1' }, 60);
    await models('AuthorizationCode').upsert('raced', { accountId: 'a1', grantId: 'raced-grant' }, 60);
    await models('AccessToken').upsert('raced-token', { accountId: 'a1', grantId: 'raced-grant' }, 60);
    await models('AuthorizationCode').consume('raced');
    await expect(knexAdapterFactory(other)('AuthorizationCode').consume('raced')).rejects.toBeInstanceOf(errors.InvalidGrant);
    expect(await models('Grant').find('raced-grant')).toBeUndefined();
    expect(await models('AccessToken').find('raced-token')).toBeUndefined();
  });

  it('never stores a token whose grant was revoked while its request ran (a block, a reuse), nor anything else of that request', async () => {
    const send = writeSender(db, 'oidc_models');
    const row = (model: string, id: string, grantId: string | null): HeldWrite => ({
      kind: 'upsert',
      values: {
        model,
        id,
        payload: '{}',
        grant_id: grantId,
        uid: null,
        user_code: null,
        account_id: 'a2',
        session_uid: null,
        expires_at: Date.now() + 60_000,
      },
    });
    await models('Grant').upsert('kept-grant', { accountId: 'a2' }, 60);
    await models('Grant').upsert('blocked-grant', { accountId: 'a2' }, 60);
    await models('Session').upsert('a2-session', { accountId: 'a2' }, 60);
    // The account is blocked between the request's start and its writes being sent.
    await revokeAccounts(other, ['a2']);
    await expect(
      send([row('AccessToken', 'in-flight', 'blocked-grant'), { kind: 'destroy', model: 'Grant', id: 'kept-grant' }]),
    ).rejects.toBeInstanceOf(GrantGone);
    expect(await storedIds('AccessToken')).not.toContain('in-flight');

    // A grant stored in the same writes, or still stored, lets them through.
    await send([row('Grant', 'new-grant', null), row('AccessToken', 'with-new', 'new-grant')]);
    await send([row('AccessToken', 'with-stored', 'new-grant')]);
    expect(await storedIds('AccessToken')).toEqual(expect.arrayContaining(['with-new', 'with-stored']));
  });

  it('refuses to spend a code that is gone', async () => {
    await expect(models('RefreshToken').consume('never-stored')).rejects.toBeInstanceOf(errors.InvalidGrant);
  });
});

describe('a provider request that fails past oidc-provider', () => {
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

  /** A handler that prepares a success, then fails to store its token (its table is gone). */
  function failingApp(answer: (ctx: Koa.Context) => void): Promise<App> {
    return appWith(async (ctx) => {
      answer(ctx);
      await knexAdapterFactory(db)('AccessToken').upsert('lost-token', { accountId: 'x' }, 3600);
    });
  }

  async function withTableAway(run: () => Promise<void>): Promise<void> {
    await db.schema.renameTable('oidc_models', 'oidc_models_away');
    try {
      await run();
    } finally {
      await db.schema.renameTable('oidc_models_away', 'oidc_models');
    }
  }

  it('answers a relying party with server_error, and no token', () =>
    withTableAway(async () => {
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
      }
    }));

  it('answers a browser with an error page, without the redirect', () =>
    withTableAway(async () => {
      const app = await failingApp((ctx) => ctx.redirect('https://app.example/cb?code=lost'));
      try {
        const response = await fetch(`${app.url}/auth/some-interaction`, { redirect: 'manual' });
        expect(response.status).toBe(500);
        expect(response.headers.get('location')).toBeNull();
        expect(await response.text()).toMatch(/<html[\s\S]*server_error/i);
      } finally {
        await app.close();
      }
    }));
});
