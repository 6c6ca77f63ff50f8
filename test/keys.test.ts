import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { TTL } from '../src/oidc/ttl.js';
import {
  DEFAULT_PUBLISH_FOR_MS,
  DEFAULT_RETIRE_AFTER_MS,
  currentKeySet,
  deleteRetiredKeys,
  listKeys,
  loadSigningKeys,
  rotateSigningKey,
} from '../src/oidc/keys.js';
import { testDatabaseUrl } from './helpers/database.js';

// Signing keys shared by every instance through the database, rotated in three steps:
// published → signing → retired. Times are given explicitly (`now`) instead of faking clocks.

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const PUBLISH_FOR = 10 * MINUTE;
const RETIRE_AFTER = 70 * MINUTE;

let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let db: Knex;
let instances: Knex[] = [];

beforeEach(async () => {
  database = await testDatabaseUrl();
  db = createKnex(database.url);
  await migrateLatest(db);
});

afterEach(async () => {
  await Promise.all([db, ...instances].map((knex) => knex.destroy()));
  instances = [];
  await database.drop();
});

/** Another instance of the service: its own connection pool on the same database. */
function instance(): Knex {
  const knex = createKnex(database.url);
  instances.push(knex);
  return knex;
}

async function kidsAt(now: number): Promise<string[]> {
  return (await currentKeySet(db, now)).keys.map((key) => key.kid as string);
}

async function generations(): Promise<number[]> {
  const rows: { generation: number | string }[] = await db('signing_keys').select('generation').orderBy('generation');
  return rows.map((row) => Number(row.generation));
}

describe('the first key', () => {
  it('is made once, even when five instances ask at the same moment', async () => {
    const sets = await Promise.all(Array.from({ length: 5 }, () => currentKeySet(instance(), T0)));

    expect(await generations()).toEqual([1]);
    expect(new Set(sets.map((set) => set.fingerprint)).size).toBe(1);
    const [key] = sets[0]!.keys;
    expect(sets[0]!.keys).toHaveLength(1);
    // A private RSA key for oidc-provider to sign with.
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(typeof key!.kid).toBe('string');
    expect(typeof key!.d).toBe('string');
    expect(await listKeys(db, T0)).toEqual([
      { kid: key!.kid, generation: 1, createdAt: T0, signFrom: T0, retireAt: null, status: 'signing' },
    ]);
  });

  it('is served by loadSigningKeys too, for existing callers', async () => {
    const keys = await loadSigningKeys(db);
    expect(keys).toHaveLength(1);
    expect((await currentKeySet(db)).keys.map((key) => key.kid)).toEqual([keys[0]!.kid]);
  });
});

describe('rotation', () => {
  it('publishes the new key first, signs with it after publishFor, and retires the old key after retireAfter', async () => {
    const [oldKid] = await kidsAt(T0);
    const rotatedAt = T0 + 5 * MINUTE;

    const rotation = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: rotatedAt });

    const signFrom = rotatedAt + PUBLISH_FOR;
    const retireAt = signFrom + RETIRE_AFTER;
    expect(rotation).toEqual({ kid: expect.any(String), signFrom, retiring: [{ kid: oldKid, retireAt }] });
    const newKid = rotation.kid;
    expect(newKid).not.toBe(oldKid);

    // Published at once, but the old key still signs (first in the set).
    expect(await kidsAt(rotatedAt)).toEqual([oldKid, newKid]);
    expect(await kidsAt(signFrom - 1)).toEqual([oldKid, newKid]);
    // From signFrom the new key signs; the old one still verifies what it signed.
    expect(await kidsAt(signFrom)).toEqual([newKid, oldKid]);
    expect(await kidsAt(retireAt - 1)).toEqual([newKid, oldKid]);
    // Once every token the old key signed has expired, it is no longer published.
    expect(await kidsAt(retireAt)).toEqual([newKid]);
    expect(await kidsAt(retireAt + 24 * 60 * MINUTE)).toEqual([newKid]);
  });

  it('changes the fingerprint exactly when the published set or its order changes', async () => {
    const before = await currentKeySet(db, T0);
    expect((await currentKeySet(db, T0 + MINUTE)).fingerprint).toBe(before.fingerprint);

    const { kid, signFrom, retiring } = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 });
    const retireAt = retiring[0]!.retireAt;

    const published = await currentKeySet(db, T0);
    expect(published.fingerprint).not.toBe(before.fingerprint);
    expect((await currentKeySet(db, signFrom - 1)).fingerprint).toBe(published.fingerprint);

    const switched = await currentKeySet(db, signFrom);
    expect(switched.fingerprint).not.toBe(published.fingerprint); // same keys, new order
    expect((await currentKeySet(db, retireAt - 1)).fingerprint).toBe(switched.fingerprint);

    const retired = await currentKeySet(db, retireAt);
    expect(new Set([before, published, switched, retired].map((set) => set.fingerprint)).size).toBe(4);
    expect(retired.keys.map((key) => key.kid)).toEqual([kid]);
    expect((await currentKeySet(db, retireAt + 60 * MINUTE)).fingerprint).toBe(retired.fingerprint);

    // Pruning what is no longer published changes nothing that is served.
    await deleteRetiredKeys(db, retireAt);
    expect((await currentKeySet(db, retireAt)).fingerprint).toBe(retired.fingerprint);
  });

  it('never gives two keys one generation when two instances rotate at once', async () => {
    await currentKeySet(db, T0);
    // On PostgreSQL each rotation gets its own pool, like two instances. better-sqlite3 is
    // synchronous: two pools in one process would block each other's wait for SQLite's write
    // lock, so there the rotations share one (separate processes wait for each other).
    const postgres = db.client.config.client === 'pg';
    for (let round = 0; round < 3; round += 1) {
      const pools = postgres ? [instance(), instance()] : [db, db];
      const results = await Promise.allSettled(
        pools.map((knex) => rotateSigningKey(knex, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 + round * MINUTE })),
      );
      // The loser retries on top of the winner: both rotations go through.
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    }
    const gens = await generations();
    expect(gens).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Every key but the newest has a retirement date.
    const keys = await listKeys(db, T0);
    expect(keys.filter((key) => key.retireAt === null).map((key) => key.generation)).toEqual([7]);
  });

  it('keeps an earlier retirement date and retires a key superseded before it signed', async () => {
    const [first] = await kidsAt(T0);
    const second = await rotateSigningKey(db, { publishFor: 60 * MINUTE, retireAfter: RETIRE_AFTER, now: T0 });
    const third = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: 2 * RETIRE_AFTER, now: T0 + MINUTE });

    expect(third.retiring).toEqual([
      { kid: second.kid, retireAt: third.signFrom + 2 * RETIRE_AFTER },
      { kid: first, retireAt: second.signFrom + RETIRE_AFTER }, // earlier than the third's plan: kept
    ]);
    // The third key signs from its signFrom on, even though the second's is later.
    expect(await kidsAt(third.signFrom)).toEqual([third.kid, second.kid, first]);
    expect(await kidsAt(second.signFrom)).toEqual([third.kid, second.kid, first]);
    const statuses = Object.fromEntries((await listKeys(db, T0 + 2 * MINUTE)).map((key) => [key.kid, key.status]));
    expect(statuses).toEqual({ [first!]: 'signing', [second.kid]: 'retiring', [third.kid]: 'published' });
  });

  it('makes a first key that signs at once when the table is empty', async () => {
    const rotation = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 });
    expect(rotation).toEqual({ kid: expect.any(String), signFrom: T0, retiring: [] });
    expect(await kidsAt(T0)).toEqual([rotation.kid]);
    expect((await listKeys(db, T0)).map((key) => key.status)).toEqual(['signing']);
  });

  it('refuses negative or non-numeric durations', async () => {
    await expect(rotateSigningKey(db, { publishFor: -1, retireAfter: RETIRE_AFTER })).rejects.toThrow(/publishFor/);
    await expect(rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: Number.NaN })).rejects.toThrow(/retireAfter/);
    expect(await generations()).toEqual([]);
  });

  it('keeps old keys published for as long as a session lasts, so ID tokens kept for logout still verify', () => {
    expect(DEFAULT_PUBLISH_FOR_MS).toBe(10 * MINUTE);
    expect(DEFAULT_RETIRE_AFTER_MS).toBeGreaterThan(TTL.Session * 1000);
    expect(DEFAULT_RETIRE_AFTER_MS).toBeGreaterThan(TTL.IdToken * 1000);
  });
});

describe('listKeys', () => {
  it('tells published, signing, retiring and retired keys apart', async () => {
    const [oldKid] = await kidsAt(T0);
    const { kid: newKid, signFrom, retiring } = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 });
    const retireAt = retiring[0]!.retireAt;
    const statusAt = async (now: number) => (await listKeys(db, now)).map((key) => [key.kid, key.status]);

    expect(await statusAt(T0)).toEqual([
      [newKid, 'published'],
      [oldKid, 'signing'],
    ]);
    expect(await statusAt(signFrom)).toEqual([
      [newKid, 'signing'],
      [oldKid, 'retiring'],
    ]);
    expect(await statusAt(retireAt)).toEqual([
      [newKid, 'signing'],
      [oldKid, 'retired'],
    ]);

    expect(await listKeys(db, T0)).toEqual([
      { kid: newKid, generation: 2, createdAt: T0, signFrom, retireAt: null, status: 'published' },
      { kid: oldKid, generation: 1, createdAt: T0, signFrom: T0, retireAt, status: 'signing' },
    ]);
  });

  it('never shows key material', async () => {
    await currentKeySet(db, T0);
    await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 });
    const published = await currentKeySet(db, T0);
    const listed = await listKeys(db, T0);

    for (const key of listed) {
      expect(Object.keys(key).sort()).toEqual(['createdAt', 'generation', 'kid', 'retireAt', 'signFrom', 'status']);
    }
    const text = JSON.stringify(listed);
    for (const jwk of published.keys) {
      for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'n'] as const) {
        expect(typeof jwk[part]).toBe('string');
        expect(text).not.toContain(jwk[part]);
      }
    }
  });
});

describe('deleteRetiredKeys', () => {
  it('deletes only the keys whose retirement has passed', async () => {
    const [oldKid] = await kidsAt(T0);
    const { kid: newKid, retiring } = await rotateSigningKey(db, { publishFor: PUBLISH_FOR, retireAfter: RETIRE_AFTER, now: T0 });
    const retireAt = retiring[0]!.retireAt;

    expect(await deleteRetiredKeys(db, retireAt - 1)).toEqual([]);
    expect(await generations()).toEqual([1, 2]);
    expect(await deleteRetiredKeys(db, retireAt)).toEqual([oldKid]);
    expect((await listKeys(db, retireAt)).map((key) => key.kid)).toEqual([newKid]);
    expect(await kidsAt(retireAt)).toEqual([newKid]);
  });
});

describe('the key rotation migration', () => {
  it('gives existing keys a signing start at their creation and keeps generations unique', async () => {
    // A database of the version before rotation (only the first migration), with a key made then.
    const older = await testDatabaseUrl();
    const knex = createKnex(older.url);
    try {
      await knex.migrate.up();
      await knex('signing_keys').insert({ kid: 'legacy', generation: 1, jwk: '{}', created_at: T0 - 60 * MINUTE });

      await migrateLatest(knex);
      expect(await listKeys(knex, T0)).toEqual([
        { kid: 'legacy', generation: 1, createdAt: T0 - 60 * MINUTE, signFrom: T0 - 60 * MINUTE, retireAt: null, status: 'signing' },
      ]);
      // better-sqlite3's errors are not `instanceof Error` inside jest's module sandbox, so the
      // rejection is matched by its message (SQLite: "UNIQUE constraint failed", PostgreSQL:
      // "duplicate key value violates unique constraint").
      await expect(knex('signing_keys').insert({ kid: 'again', generation: 1, jwk: '{}', created_at: T0 })).rejects.toMatchObject({
        message: expect.stringMatching(/unique/i),
      });
    } finally {
      await knex.destroy();
      await older.drop();
    }
  });
});
