import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import knexFactory, { type Knex } from 'knex';
import { testDatabaseUrl } from '../helpers/database.js';
import { databaseLine } from '../helpers/command.js';
import { ALL, appliedIn, migrate, statusRows } from '../helpers/migrate-command.js';

// An empty PostgreSQL database (as a DBA creates it for the service) is migrate's to fill;
// `status` looks without creating anything.
describe('npm run migrate on an empty PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  beforeEach(async () => {
    database = await testDatabaseUrl();
  });
  afterEach(async () => {
    await database.drop();
  });

  /** Every table in the database: status must not even create knex's own. */
  async function tables(): Promise<string[]> {
    const db: Knex = knexFactory({ client: 'pg', connection: database.url });
    try {
      const { rows } = await db.raw<{ rows: { table_name: string }[] }>(
        'select table_name from information_schema.tables where table_schema = current_schema()',
      );
      return rows.map((row) => row.table_name);
    } finally {
      await db.destroy();
    }
  }

  it('status shows every migration pending and creates no table', async () => {
    const status = await migrate(database.url, 'status');
    expect(status.code).toBe(0);
    expect(statusRows(status.stdout)).toEqual(ALL.map((name) => [name, 'pending']));
    expect(await tables()).toEqual([]);
  });

  it("sets it up without --create: an existing database is migrate's to fill", async () => {
    const run = await migrate(database.url);
    expect(run.code).toBe(0);
    expect(databaseLine(run.stderr)).toMatch(/^database: PostgreSQL postgres(ql)?:\/\//);
    expect(await appliedIn(database.url)).toEqual(ALL);
  });
});
