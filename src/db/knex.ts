import { resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';
import type { Logger } from '../log.js';
import { checkpointInBackground, type Checkpointer } from './sqlite-checkpoints.js';

/**
 * One knex instance for the whole process, built from DATABASE_URL.
 * `sqlite:<path>` uses the embedded better-sqlite3 driver; `postgres://…` uses pg.
 */
/** How SQLite makes a commit durable (PRAGMA synchronous): FULL unless the operator chooses NORMAL. */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

export function knexConfig(databaseUrl: string, logger?: Logger, options: { sqliteSynchronous?: SqliteSynchronous } = {}): Knex.Config {
  return { ...driverConfig(databaseUrl, options.sqliteSynchronous ?? 'FULL'), log: knexLog(logger) };
}

/**
 * knex prints its own warnings (e.g. "Acquire connection error" while the database is away)
 * with console.log, stack included: send them to the JSON log as one line each instead, or
 * nowhere when there is no log (operator commands and tests report failures themselves).
 */
function knexLog(logger: Logger | undefined): Knex.Config['log'] {
  if (!logger) return { warn() {}, error() {}, deprecate() {}, debug() {} };
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message)).split('\n')[0];
  return {
    warn: (message) => logger.warn({ event: 'database', message: text(message) }, 'database warning'),
    error: (message) => logger.error({ event: 'database', message: text(message) }, 'database error'),
    deprecate: (method, alternative) =>
      logger.warn({ event: 'database', message: `${method} is deprecated, use ${alternative}` }, 'database warning'),
    debug: (message) => logger.debug({ event: 'database', message: text(message) }, 'database debug'),
  };
}

function driverConfig(databaseUrl: string, synchronous: SqliteSynchronous): Knex.Config {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    return {
      client: 'better-sqlite3',
      connection: { filename: file === ':memory:' ? ':memory:' : resolve(file) },
      useNullAsDefault: true,
      // better-sqlite3 is synchronous: one connection serialises every statement and
      // transaction, which is what SQLite wants anyway (no SQLITE_BUSY between our own calls).
      // Reads and writes queue behind each other on the one connection; waiting a while is
      // normal under load, waiting longer than this is a fault.
      acquireConnectionTimeout: 10_000,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          // FULL: a commit is on disk before it is acknowledged, so a power loss cannot bring a
          // spent code or refresh token back. NORMAL (the operator's choice, SQLITE_SYNCHRONOUS)
          // syncs at checkpoints only: still consistent, but the last commits may be lost.
          conn.pragma(`synchronous = ${synchronous}`);
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          // The log is copied back into the database by a worker thread, not in our commits.
          if (file !== ':memory:') checkpointWithConnection(conn, checkpointInBackground(resolve(file), conn));
          done(null, conn);
        },
      },
      migrations: { migrationSource },
    };
  }
  return {
    client: 'pg',
    connection: databaseUrl,
    // A short acquire timeout turns a database outage into a quick "try again" page instead
    // of requests hanging; knex builds new connections once the server is back.
    pool: { min: 0, max: 10, afterCreate: planOnce },
    acquireConnectionTimeout: 5_000,
    migrations: { migrationSource },
  };
}

interface PgConnection {
  query(sql: string, callback: (err: Error | null) => void): unknown;
}

/**
 * Every statement the service sends often is a named prepared statement (db/prepared.ts)
 * whose rows are found by key, so one plan fits all values. PostgreSQL still plans each
 * anew at every execution while it judges a value-specific plan worth it: that planning was
 * a fifth of the server's CPU in a sign-in. Plan once per connection instead.
 */
function planOnce(conn: PgConnection, done: (err: Error | null, conn: unknown) => void): void {
  conn.query('set plan_cache_mode = force_generic_plan', (err) => done(err, conn));
}

interface SqliteConnection {
  pragma(p: string): unknown;
  close(): unknown;
}

/** The checkpoint worker lives as long as the connection: knex closing it stops the worker first. */
function checkpointWithConnection(conn: SqliteConnection, checkpointer: Checkpointer): void {
  const close = conn.close.bind(conn);
  conn.close = () => checkpointer.stop().then(() => close());
}

/** Opens the database; an SQLite file is created where it is named (its directory must exist). */
export function createKnex(databaseUrl: string, logger?: Logger, options: { sqliteSynchronous?: SqliteSynchronous } = {}): Knex {
  return knexFactory(knexConfig(databaseUrl, logger, options));
}

const LOCK_WAIT_MS = 60_000;

/**
 * Whether a failed `migrate.latest()` lost a race with another instance doing the same, so
 * that trying again is right:
 * - the lock is taken (knex fails instead of waiting);
 * - on an empty database, both created knex's own bookkeeping tables at once: PostgreSQL
 *   answers "relation already exists" (42P07) or a unique violation on its catalogue (23505),
 *   SQLite "table … already exists".
 */
function lostMigrationRace(error: unknown): boolean {
  const err = error as { name?: string; code?: string; message?: string };
  if (err.name === 'MigrationLocked') return true;
  if (err.code === '42P07' || err.code === '23505') return true;
  return /already exists/i.test(err.message ?? '');
}

/** Any fixed number: the PostgreSQL advisory lock that instances migrating at once queue on. */
const MIGRATION_ADVISORY_LOCK = 7_230_512_001;

/**
 * Brings the schema up to date. When several instances start at once, one migrates and the
 * others wait, then find nothing left to do.
 *
 * On PostgreSQL they queue on an advisory lock held by a transaction of their own: knex's own
 * lock cannot serve on an empty database, where instances starting together may each create
 * its lock table's row, after which knex finds the lock "taken" forever. On SQLite (one
 * process per file in practice) knex's lock is enough: losing its race means trying again.
 */
export async function migrateLatest(db: Knex): Promise<void> {
  if (db.client.config.client === 'pg') {
    await db.transaction(async (trx) => {
      await trx.raw(`set local lock_timeout = '${LOCK_WAIT_MS}ms'`);
      await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_ADVISORY_LOCK]);
      await db.migrate.latest();
    });
    return;
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await db.migrate.latest();
      return;
    } catch (error) {
      if (!lostMigrationRace(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}
