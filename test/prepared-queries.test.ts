import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { PreparedQuery } from '../src/db/prepared.js';
import { knexAdapterFactory } from '../src/oidc/adapter.js';
import { testDatabaseUrl } from './helpers/database.js';

// The hot path's statements run on the pool's connections directly, and on SQLite the writes
// of one event-loop turn share a commit. Whatever the batching, a write that resolved is
// stored for every other connection to see, and one write's failure is its own.
let db: Knex;
let other: Knex;
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;

beforeAll(async () => {
  database = await testDatabaseUrl();
  db = createKnex(database.url);
  await migrateLatest(db);
  // A second pool on the same database, as another process (or instance) would see it.
  other = createKnex(database.url);
});
afterAll(async () => {
  await other.destroy();
  await db.destroy();
  await database.drop();
});

const insertState = () =>
  new PreparedQuery(db, ['state', 'uid', 'app_id', 'scope', 'expires_at'], (row) => db('wechat_states').insert(row));
const state = (id: string) => ({ state: id, uid: `uid-${id}`, app_id: 'wx1', scope: 'snsapi_userinfo', expires_at: Date.now() + 60_000 });

describe('prepared statements', () => {
  it('stores every one of many concurrent provider writes, visible elsewhere once each resolves', async () => {
    const sessions = knexAdapterFactory(db)('Session');
    const ids = Array.from({ length: 40 }, (_, i) => `session-${i}`);
    const seenElsewhere = await Promise.all(
      ids.map(async (id, i) => {
        await sessions.upsert(id, { accountId: `account-${i}`, uid: `uid-${i}`, exp: 0 }, 3600);
        const row = await other('oidc_models').first('id', 'account_id').where({ model: 'Session', id });
        return row?.account_id;
      }),
    );
    expect(seenElsewhere).toEqual(ids.map((_, i) => `account-${i}`));
    await Promise.all(ids.map(async (id, i) => expect(await sessions.find(id)).toMatchObject({ accountId: `account-${i}` })));
    await Promise.all(ids.map(async (_, i) => expect(await sessions.findByUid(`uid-${i}`)).toMatchObject({ accountId: `account-${i}` })));
  });

  it('fails only the write that breaks a constraint, and keeps the ones beside it', async () => {
    const insert = insertState();
    const outcomes = await Promise.allSettled([
      insert.run(state('a1')),
      insert.run(state('a2')),
      insert.run(state('a1')),
      insert.run(state('a3')),
    ]);
    // Of the two writes of a1 one is first and stands (on PostgreSQL they race on two
    // connections); the other is refused. a2 and a3 beside them are kept either way.
    const [first, a2, second, a3] = outcomes.map((o) => o.status);
    expect([first, second].sort()).toEqual(['fulfilled', 'rejected']);
    expect([a2, a3]).toEqual(['fulfilled', 'fulfilled']);
    const stored = await other('wechat_states').whereIn('state', ['a1', 'a2', 'a3']).orderBy('state').pluck('state');
    expect(stored).toEqual(['a1', 'a2', 'a3']);
  });

  it('lets knex transactions and prepared writes run side by side without losing either', async () => {
    const insert = insertState();
    const work = Array.from({ length: 10 }, (_, i) => [
      insert.run(state(`tx-side-${i}`)),
      db.transaction(async (trx) => {
        await trx('wechat_states').insert(state(`tx-${i}`));
        await trx('wechat_states')
          .where({ state: `tx-${i}` })
          .update({ scope: 'snsapi_base' });
      }),
    ]).flat();
    await Promise.all(work);
    const sides = await other('wechat_states').where('state', 'like', 'tx-side-%').pluck('state');
    const transacted = await other('wechat_states').where('state', 'like', 'tx-%').where({ scope: 'snsapi_base' }).pluck('state');
    expect(sides).toHaveLength(10);
    expect(transacted.filter((s: string) => !s.startsWith('tx-side-'))).toHaveLength(10);
  });

  it('answers a read with the rows as stored, consumed marks included', async () => {
    const codes = knexAdapterFactory(db)('AuthorizationCode');
    await codes.upsert('code-1', { accountId: 'a', grantId: 'g-1' }, 60);
    await codes.consume('code-1');
    expect(await codes.find('code-1')).toMatchObject({ accountId: 'a', consumed: expect.any(Number) });
    await codes.revokeByGrantId('g-1');
    expect(await codes.find('code-1')).toBeUndefined();
  });

  it('revokes a grant model by model, and leaves the interaction in flight that names it', async () => {
    const models = knexAdapterFactory(db);
    await models('AccessToken').upsert('at-g2', { accountId: 'a', grantId: 'g-2' }, 60);
    await models('RefreshToken').upsert('rt-g2', { accountId: 'a', grantId: 'g-2' }, 60);
    // Someone else signing in on the browser: the old session's grants are revoked before
    // the new person's interaction, which names the grant it would extend, resumes.
    await models('Interaction').upsert('int-g2', { uid: 'int-g2', grantId: 'g-2', params: {} }, 60);
    await models('AccessToken').revokeByGrantId('g-2');
    expect(await models('AccessToken').find('at-g2')).toBeUndefined();
    expect(await models('RefreshToken').find('rt-g2')).toMatchObject({ grantId: 'g-2' });
    await models('RefreshToken').revokeByGrantId('g-2');
    expect(await models('RefreshToken').find('rt-g2')).toBeUndefined();
    expect(await models('Interaction').find('int-g2')).toMatchObject({ uid: 'int-g2', grantId: 'g-2' });
  });
});
