import type { Knex } from 'knex';
import type { Logger } from '../log.js';

/** The tables every sign-in reads; their statistics decide the plans of the hot statements. */
const HOT_TABLES = ['oidc_models', 'accounts', 'wechat_identities', 'wechat_states', 'avatars'];
const EVERY_MS = 5000;

interface TableActivity {
  relname: string;
  n_live_tup: string | number;
  n_dead_tup: string | number;
  n_mod_since_analyze: string | number;
}

/**
 * PostgreSQL: keeps the planner's statistics of the hot tables up to date, a second line
 * behind autovacuum.
 *
 * The hot statements are prepared once per connection, and PostgreSQL keeps a prepared
 * statement's plan until the statistics of its tables change. A plan made while a table was
 * nearly empty (a new database) suits an empty table: it reads a whole model's rows and
 * filters them, and on a database that grows it stays in use, slower with every row (measured:
 * the joined read of a token went from 0.1 to 3 ms within a minute of sign-ins). Autovacuum
 * analyzes a table once a tenth of it has changed, but it looks at most once a minute, and it
 * may be off. So every few seconds this applies the same rule (50 rows and a tenth of the
 * table changed since the last ANALYZE, whoever ran it) and analyzes what is due: the new
 * statistics retire the old plans in every connection. When autovacuum is off it also
 * vacuums a hot table whose dead rows pass a fifth of it, or lookups wade through them.
 * Several instances may run it at once: an ANALYZE resets the counter for all of them.
 */
export function startPostgresStatistics(db: Knex, logger: Logger): { stop(): void; runOnce(): Promise<string[]> } {
  let autovacuum: boolean | undefined;
  let running = false;
  let failing = false; // warned once per outage, not every 5 seconds of it
  async function runOnce(): Promise<string[]> {
    if (running) return [];
    running = true;
    try {
      if (autovacuum === undefined) {
        const { rows } = await db.raw<{ rows: { setting: string }[] }>(`select setting from pg_settings where name = 'autovacuum'`);
        autovacuum = rows[0]?.setting === 'on';
        if (!autovacuum)
          logger.warn(
            { event: 'autovacuum_off' },
            'autovacuum is off: the provider analyzes and vacuums its own tables; other tables are left to the operator',
          );
      }
      const { rows } = await db.raw<{ rows: TableActivity[] }>(
        `select relname, n_live_tup, n_dead_tup, n_mod_since_analyze from pg_stat_user_tables
         where schemaname = current_schema() and relname = any(?)`,
        [HOT_TABLES],
      );
      const done: string[] = [];
      for (const table of rows) {
        const live = Number(table.n_live_tup);
        const vacuum = !autovacuum && Number(table.n_dead_tup) > 50 + 0.2 * live;
        if (!vacuum && Number(table.n_mod_since_analyze) <= 50 + 0.1 * live) continue;
        // Names come from the fixed list above, never from input.
        await db.raw(vacuum ? `vacuum (analyze) ${table.relname}` : `analyze ${table.relname}`);
        done.push(table.relname);
      }
      if (done.length) logger.debug({ event: 'table_statistics', tables: done }, 'analyzed tables');
      failing = false;
      return done;
    } catch (error) {
      if (!failing)
        logger.warn({ event: 'table_statistics_failed', message: (error as Error).message }, 'could not analyze tables; will retry');
      failing = true;
      return [];
    } finally {
      running = false;
    }
  }
  const timer = setInterval(() => void runOnce(), EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
