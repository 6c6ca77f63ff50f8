import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { JWK } from 'oidc-provider';
import { TTL } from './ttl.js';
import { newRsaPrivateJwk } from './rsa-key.js';

/**
 * The provider's signing keys live in the `signing_keys` table, shared by every instance, so
 * tokens verify after a restart and on every instance. A key goes through these states:
 *
 * - published: in JWKS, not signing yet (`sign_from` in the future), so that relying parties
 *   that cache the JWKS have fetched it before they see a token signed with it;
 * - signing: the newest generation whose `sign_from` has passed; listed first in the key set,
 *   because oidc-provider signs with the first key that fits the algorithm;
 * - retiring: still published (it verifies the tokens it signed) but no longer signing;
 * - retired: `retire_at` has passed; no longer published, deleted by `deleteRetiredKeys`.
 *
 * Times are epoch milliseconds. Every function takes `now` so the schedule can be tested.
 */

const TABLE = 'signing_keys';

const MINUTE = 60 * 1000;

/** How long a new key is published before it signs: longer than relying parties usually
 * wait before refetching a JWKS when they meet an unknown kid. */
export const DEFAULT_PUBLISH_FOR_MS = 10 * MINUTE;

/** How long an old key stays published once a newer key signs: the longest a token it signed
 * is still used. That is not the ID token's own lifetime (an hour): apps keep the ID token of
 * a sign-in to send as `id_token_hint` at logout, for as long as the session lasts. Plus a
 * margin for clocks that disagree. */
export const DEFAULT_RETIRE_AFTER_MS = TTL.Session * 1000 + 10 * MINUTE;

export interface KeySet {
  /** Every published key (private JWKs): the current signing key first, then the others,
   * newest generation first. */
  keys: JWK[];
  /** Changes whenever `keys` (the set or its order) changes: compare it to notice that the
   * provider must be rebuilt. */
  fingerprint: string;
}

export type KeyStatus = 'published' | 'signing' | 'retiring' | 'retired';

/** A key as the operator sees it: no key material. */
export interface KeyInfo {
  kid: string;
  generation: number;
  createdAt: number;
  signFrom: number;
  /** null: no retirement planned (no newer key yet). */
  retireAt: number | null;
  status: KeyStatus;
}

export interface RotateOptions {
  /** How long the new key is published before it starts signing (ms). */
  publishFor: number;
  /** How long older keys stay published after the new key starts signing (ms). */
  retireAfter: number;
  now?: number;
}

export interface Rotation {
  kid: string;
  signFrom: number;
  /** Every older key still published, with the time it stops being published. */
  retiring: { kid: string; retireAt: number }[];
}

interface KeyRow {
  kid: string;
  generation: number | string;
  created_at: number | string;
  sign_from: number | string | null;
  retire_at: number | string | null;
}

interface Key {
  kid: string;
  generation: number;
  createdAt: number;
  signFrom: number;
  retireAt: number | null;
}

const COLUMNS = ['kid', 'generation', 'created_at', 'sign_from', 'retire_at'] as const;

// PostgreSQL returns bigints as strings.
function toKey(row: KeyRow): Key {
  const createdAt = Number(row.created_at);
  return {
    kid: row.kid,
    generation: Number(row.generation),
    createdAt,
    signFrom: row.sign_from === null ? createdAt : Number(row.sign_from),
    retireAt: row.retire_at === null ? null : Number(row.retire_at),
  };
}

const isPublished = (key: Key, now: number) => key.retireAt === null || key.retireAt > now;

/**
 * The key that signs at `now` among the published keys (sorted newest generation first): the
 * newest whose `sign_from` has passed. Should none have (an instance whose clock is behind the
 * one that made the first key), the one that would sign next.
 */
function signingKey<K extends Key>(published: K[], now: number): K | undefined {
  const ready = published.find((key) => key.signFrom <= now);
  if (ready) return ready;
  let next: K | undefined;
  for (const key of published) if (!next || key.signFrom < next.signFrom) next = key;
  return next;
}

function generateSigningKey(): JWK {
  return { ...newRsaPrivateJwk(), kid: randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' };
}

const PRIVATE_JWK = /\{[^{}]*"d"\s*:[^{}]*\}/g;

/**
 * knex writes a failed query into the error message with its values inlined: for an insert
 * into signing_keys, that is the private key. Cut it out before the error goes anywhere.
 */
function withoutKeyMaterial(error: unknown): unknown {
  if (error instanceof Error) {
    const stack = error.stack;
    error.message = error.message.replace(PRIVATE_JWK, '[private JWK]');
    if (stack !== undefined) error.stack = stack.replace(PRIVATE_JWK, '[private JWK]');
  }
  return error;
}

function keyRow(jwk: JWK, generation: number, createdAt: number, signFrom: number) {
  return { kid: jwk.kid, generation, jwk: JSON.stringify(jwk), created_at: createdAt, sign_from: signFrom };
}

async function publishedKeys(db: Knex, now: number): Promise<(Key & { jwk: string })[]> {
  const rows: (KeyRow & { jwk: string })[] = await db(TABLE)
    .select(...COLUMNS, 'jwk')
    .where((q) => q.whereNull('retire_at').orWhere('retire_at', '>', now))
    .orderBy('generation', 'desc');
  return rows.map((row) => ({ ...toKey(row), jwk: row.jwk }));
}

/**
 * The key set every instance should serve at `now`. Makes the first key when the table is
 * empty; instances starting together on an empty database agree on one (generation 1 is
 * unique, the losers' inserts are ignored).
 */
export async function currentKeySet(db: Knex, now = Date.now()): Promise<KeySet> {
  let published = await publishedKeys(db, now);
  if (published.length === 0) {
    if (!(await db(TABLE).first('kid'))) {
      const jwk = generateSigningKey();
      try {
        await db(TABLE)
          .insert(keyRow(jwk, 1, now, now))
          .onConflict('generation')
          .ignore();
      } catch (error) {
        throw withoutKeyMaterial(error);
      }
    }
    // Read again: ours or another instance's first key (made since our first read).
    published = await publishedKeys(db, now);
  }
  if (published.length === 0) {
    throw new Error(
      'no signing key is published: every key in signing_keys is retired. ' +
        'Make a new one with `npm run keys -- rotate --publish-for 0`.',
    );
  }
  const signing = signingKey(published, now);
  const ordered = signing ? [signing, ...published.filter((key) => key !== signing)] : published;
  return {
    keys: ordered.map((key) => JSON.parse(key.jwk) as JWK),
    fingerprint: ordered.map((key) => key.kid).join(','),
  };
}

/**
 * The published keys at this moment, current signing key first.
 * @deprecated use `currentKeySet(db)`, whose fingerprint tells when the set changed.
 */
export async function loadSigningKeys(db: Knex): Promise<JWK[]> {
  return (await currentKeySet(db)).keys;
}

// Two rotations at once pick the same next generation: the unique index refuses the second
// (PostgreSQL), or SQLite refuses the second writer's stale transaction.
function isRotationConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_BUSY_SNAPSHOT'
  );
}

function checkDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number of milliseconds`);
  }
}

async function rotateOnce(db: Knex, publishFor: number, retireAfter: number, now: number): Promise<Rotation> {
  // Made before the transaction: RSA key generation takes a while, the transaction should not.
  const jwk = generateSigningKey();
  return db.transaction(async (trx) => {
    // One statement picks the next generation and inserts it: SQLite takes its write lock
    // before reading, so a concurrent rotation waits instead of reading a stale maximum;
    // PostgreSQL's unique index refuses the second of two that read the same one. The very
    // first key has no predecessor to sign in its place while it is published: it signs now.
    try {
      await trx.raw(
        `insert into ?? (kid, generation, jwk, created_at, sign_from)
         select ?, coalesce(max(generation), 0) + 1, ?, cast(? as bigint),
                case when max(generation) is null then cast(? as bigint) else cast(? as bigint) end
         from ??`,
        [TABLE, jwk.kid as string, JSON.stringify(jwk), now, now, now + publishFor, TABLE],
      );
    } catch (error) {
      throw withoutKeyMaterial(error);
    }
    const inserted: KeyRow | undefined = await trx(TABLE)
      .first(...COLUMNS)
      .where('kid', jwk.kid as string);
    if (!inserted) throw new Error('key rotation failed: the new key was not stored');
    const { generation, signFrom } = toKey(inserted);
    const retireAt = signFrom + retireAfter;
    // Older keys stop signing at signFrom at the latest, so their tokens are all expired by
    // retireAt. A key already due to retire earlier keeps its earlier date.
    await trx(TABLE)
      .where('generation', '<', generation)
      .andWhere((q) => q.whereNull('retire_at').orWhere('retire_at', '>', retireAt))
      .update({ retire_at: retireAt });
    const older: KeyRow[] = await trx(TABLE)
      .select(...COLUMNS)
      .where('generation', '<', generation)
      .andWhere('retire_at', '>', now)
      .orderBy('generation', 'desc');
    return {
      kid: jwk.kid as string,
      signFrom,
      retiring: older.map(toKey).map((key) => ({ kid: key.kid, retireAt: key.retireAt as number })),
    };
  });
}

/**
 * Adds a new signing key (the next generation), published now and signing from
 * `now + publishFor`, and plans the retirement of every older key at
 * `now + publishFor + retireAfter`. On an empty table the new key is the first one and signs
 * at once. One transaction; when another rotation ran at the same moment this one retries
 * once on top of it, then gives up with a clear error.
 */
export async function rotateSigningKey(db: Knex, options: RotateOptions): Promise<Rotation> {
  const { publishFor, retireAfter, now = Date.now() } = options;
  checkDuration('publishFor', publishFor);
  checkDuration('retireAfter', retireAfter);
  if (!Number.isFinite(now)) throw new RangeError('now must be a finite epoch time in milliseconds');
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await rotateOnce(db, publishFor, retireAfter, now);
    } catch (error) {
      if (!isRotationConflict(error)) throw error;
      if (attempt >= 2) {
        throw new Error(
          'key rotation failed: other rotations were running at the same time. ' +
            'Check the keys with `npm run keys -- list` before rotating again.',
          { cause: error },
        );
      }
    }
  }
}

/** Every key with its schedule and status at `now`, newest generation first; no key material. */
export async function listKeys(db: Knex, now = Date.now()): Promise<KeyInfo[]> {
  const rows: KeyRow[] = await db(TABLE)
    .select(...COLUMNS)
    .orderBy('generation', 'desc');
  const keys = rows.map(toKey);
  const signing = signingKey(
    keys.filter((key) => isPublished(key, now)),
    now,
  );
  return keys.map((key) => {
    let status: KeyStatus;
    if (!isPublished(key, now)) status = 'retired';
    else if (key === signing) status = 'signing';
    // Waiting for its turn; a key superseded before it ever signed is retiring instead.
    else if (key.signFrom > now && key.retireAt === null) status = 'published';
    else status = 'retiring';
    return { ...key, status };
  });
}

/** Deletes the keys whose `retire_at` has passed; returns their kids. */
export async function deleteRetiredKeys(db: Knex, now = Date.now()): Promise<string[]> {
  return db.transaction(async (trx) => {
    const rows: { kid: string }[] = await trx(TABLE).select('kid').whereNotNull('retire_at').andWhere('retire_at', '<=', now);
    const kids = rows.map((row) => row.kid);
    if (kids.length > 0) {
      await trx(TABLE).whereIn('kid', kids).andWhere('retire_at', '<=', now).del();
    }
    return kids;
  });
}
