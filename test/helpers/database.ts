import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';

/**
 * The PostgreSQL server named by TEST_DATABASE_URL, for the tests that need PostgreSQL itself
 * (a server that goes away, its planner, its statistics); undefined when the run is on SQLite.
 */
export const POSTGRES = /^postgres(ql)?:\/\//.test(process.env.TEST_DATABASE_URL ?? '') ? process.env.TEST_DATABASE_URL : undefined;

/**
 * A fresh, empty database for one provider under test. By default an SQLite file in the temp
 * directory; with TEST_DATABASE_URL=postgres://… a new PostgreSQL database on that server,
 * dropped afterwards. `base` chooses the server explicitly (tests that need PostgreSQL itself).
 */
export async function testDatabaseUrl(base = process.env.TEST_DATABASE_URL): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `idp_test_${randomBytes(6).toString('hex')}`;
  if (base && /^postgres(ql)?:\/\//.test(base)) {
    const admin = knexFactory({ client: 'pg', connection: base });
    await admin.raw(`create database ${name}`);
    await admin.destroy();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.href,
      async drop() {
        const cleanup = knexFactory({ client: 'pg', connection: base });
        await cleanup.raw(`drop database if exists ${name} with (force)`);
        await cleanup.destroy();
      },
    };
  }
  const file = join(tmpdir(), `${name}.sqlite3`);
  return {
    url: `sqlite:${file}`,
    async drop() {
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  };
}
