import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { startPostgresStatistics } from '../../src/db/pg-statistics.js';
import { createKnex } from '../../src/db/knex.js';
import { POSTGRES } from '../helpers/database.js';
import { usePostgresDatabase } from '../helpers/setup.js';

const t = usePostgresDatabase();

const rows = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    model: 'AccessToken',
    id: `at-${from + i}`,
    payload: '{}',
    expires_at: Date.now() + 60_000,
  }));

/** Table activity reaches pg_stat_user_tables within a second or so: ask until it shows. */
async function until(statistics: ReturnType<typeof startPostgresStatistics>, table: string): Promise<void> {
  for (let i = 0; i < 40; i += 1) {
    if ((await statistics.runOnce()).includes(table)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${table} was never analyzed`);
}

const activity = async () =>
  (
    await t.db.raw<{ rows: { last_analyze: Date | null; last_vacuum: Date | null; n_dead_tup: string }[] }>(
      `select last_analyze, last_vacuum, n_dead_tup from pg_stat_user_tables where relname = 'oidc_models'`,
    )
  ).rows[0]!;

describe('the planner statistics of the hot tables, on PostgreSQL', () => {
  it('are refreshed once a tenth of a table has changed, and not again while nothing changes', async () => {
    const statistics = startPostgresStatistics(t.db, createLogger('silent'));
    try {
      expect((await activity()).last_analyze).toBeNull();
      await t.db('oidc_models').insert(rows(0, 300));
      await until(statistics, 'oidc_models');
      expect((await activity()).last_analyze).not.toBeNull();
      expect(await statistics.runOnce()).not.toContain('oidc_models');
    } finally {
      statistics.stop();
    }
  });

  it('vacuums the dead rows away too when autovacuum is off, and leaves that to autovacuum when it is on', async () => {
    const {
      rows: [setting],
    } = await t.db.raw<{ rows: { setting: string }[] }>(`select setting from pg_settings where name = 'autovacuum'`);
    const statistics = startPostgresStatistics(t.db, createLogger('silent'));
    try {
      await t.db('oidc_models').insert(rows(1000, 600));
      await t.db('oidc_models').where('id', 'like', 'at-1%').del();
      await until(statistics, 'oidc_models');
      if (setting!.setting === 'off') expect((await activity()).last_vacuum).not.toBeNull();
      else expect((await activity()).last_vacuum).toBeNull();
    } finally {
      statistics.stop();
    }
  });

  it('says once, not every few seconds, that the database cannot be reached', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const url = new URL(POSTGRES!);
    url.pathname = '/idp_no_such_database';
    const gone = createKnex(url.href);
    const statistics = startPostgresStatistics(gone, createLogger('info', sink));
    try {
      expect(await statistics.runOnce()).toEqual([]);
      expect(await statistics.runOnce()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // pino writes asynchronously
      const failures = lines
        .join('')
        .split('\n')
        .filter((line) => line.includes('table_statistics_failed'));
      expect(failures).toHaveLength(1);
    } finally {
      statistics.stop();
      await gone.destroy();
    }
  });
});
