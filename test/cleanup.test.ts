import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { startCleanup } from '../src/db/cleanup.js';
import { cleanupTasks } from '../src/cleanup-tasks.js';
import { deleteExpiredModels } from '../src/oidc/stored-rows.js';
import { StateStore } from '../src/interaction/states.js';
import { currentKeySet, rotateSigningKey } from '../src/oidc/keys.js';
import { createLogger } from '../src/log.js';
import { testDatabaseUrl } from './helpers/database.js';

// The scheduled cleanup: dead rows go, live ones stay, and several instances running it at
// the same moment get in each other's way harmlessly.
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let db: Knex;
let other: Knex;

beforeEach(async () => {
  database = await testDatabaseUrl();
  db = createKnex(database.url);
  await migrateLatest(db);
  // A second instance's pool on PostgreSQL; better-sqlite3 is synchronous, so in one process
  // two pools on one file would wait on each other's locks: there the instances share one.
  other = db.client.config.client === 'pg' ? createKnex(database.url) : db;
});

afterEach(async () => {
  if (other !== db) await other.destroy();
  await db.destroy();
  await database.drop();
});

const HOUR = 3_600_000;

async function seedModels(expired: number, live: number): Promise<void> {
  const now = Date.now();
  const row = (i: number, expiresAt: number) => ({
    model: 'AccessToken',
    id: `token-${expiresAt < now ? 'dead' : 'live'}-${i}`,
    payload: '{}',
    expires_at: expiresAt,
  });
  const rows = [
    ...Array.from({ length: expired }, (_, i) => row(i, now - HOUR)),
    ...Array.from({ length: live }, (_, i) => row(i, now + HOUR)),
  ];
  await db.batchInsert('oidc_models', rows, 200);
}

const count = async (table: string) => Number((await db(table).count({ n: '*' }).first())!.n);

describe('the scheduled cleanup', () => {
  it('deletes expired provider rows, spent WeChat states and retired keys, and keeps the rest, with two instances at once', async () => {
    await seedModels(2500, 25);
    const states = new StateStore(db);
    const liveState = await states.issue({ uid: 'live-uid', appId: 'wx1', scope: 'snsapi_userinfo' });
    await db.batchInsert(
      'wechat_states',
      Array.from({ length: 1200 }, (_, i) => ({
        state: `dead${i}`,
        uid: `old-uid-${i}`,
        app_id: 'wx1',
        scope: 'snsapi_userinfo',
        expires_at: Date.now() - 1000,
      })),
      200,
    );
    // One key retired long ago, one signing now.
    await currentKeySet(db, Date.now() - 10 * HOUR);
    const rotation = await rotateSigningKey(db, { publishFor: 0, retireAfter: HOUR, now: Date.now() - 5 * HOUR });

    const logger = createLogger('silent');
    const cleanups = [startCleanup(cleanupTasks(db), logger), startCleanup(cleanupTasks(other), logger)];
    await Promise.all(cleanups.map((cleanup) => cleanup.runOnce()));
    cleanups.forEach((cleanup) => cleanup.stop());

    expect(await count('oidc_models')).toBe(25);
    expect(await db('oidc_models').where('id', 'like', 'token-dead-%').first()).toBeUndefined();
    expect(await count('wechat_states')).toBe(1);
    expect(await states.consume(liveState, 'live-uid')).toEqual({ uid: 'live-uid', appId: 'wx1', scope: 'snsapi_userinfo' });
    expect((await db('signing_keys').select('kid')).map((row) => row.kid)).toEqual([rotation.kid]);
  });

  it('deletes in batches of bounded size, never in one unbounded statement', async () => {
    await seedModels(1050, 5);
    const deletes: string[] = [];
    const record = (query: { sql: string }) => {
      if (/^delete/i.test(query.sql)) deletes.push(query.sql);
    };
    db.on('query', record);
    try {
      expect(await deleteExpiredModels(db, 300)).toBe(1050);
    } finally {
      db.removeListener('query', record);
    }
    // 300 + 300 + 300 + 150: four statements, each limited.
    expect(deletes).toHaveLength(4);
    for (const sql of deletes) expect(sql).toMatch(/limit/i);
    expect(await count('oidc_models')).toBe(5);
  });
});
