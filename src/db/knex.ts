import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';

/**
 * One knex instance for the whole process, built from DATABASE_URL.
 * `sqlite:<path>` uses the embedded better-sqlite3 driver; `postgres://…` uses pg.
 */
export function knexConfig(databaseUrl: string): Knex.Config {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    return {
      client: 'better-sqlite3',
      connection: { filename: file === ':memory:' ? ':memory:' : resolve(file) },
      useNullAsDefault: true,
      // better-sqlite3 is synchronous: one connection serialises every statement and
      // transaction, which is what SQLite wants anyway (no SQLITE_BUSY between our own calls).
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(p: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
      migrations: { migrationSource },
    };
  }
  return {
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: 10 },
    migrations: { migrationSource },
  };
}

export function createKnex(databaseUrl: string): Knex {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  }
  return knexFactory(knexConfig(databaseUrl));
}

/** Brings the schema up to date; knex holds its migration lock meanwhile. */
export async function migrateLatest(db: Knex): Promise<void> {
  await db.migrate.latest();
}
