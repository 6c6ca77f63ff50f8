import { createKnex } from '../../src/db/knex.js';
import { migrationSource } from '../../migrations/index.js';
import { runOperatorCommand } from './command.js';

/** `npm run migrate -- …` against `url`, as an operator runs it. */
export const migrate = (url: string, ...args: string[]) => runOperatorCommand('migrate.js', url, args);

/** Every migration's name, in order. */
export const ALL = (await migrationSource.getMigrations([])).map((m) => migrationSource.getMigrationName(m));

/** The migration names a status listing shows with each status. */
export const statusRows = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .slice(1, -1)
    .map((line) => line.split(/\s{2,}/));

/** The migrations recorded as applied in the database at `url`. */
export async function appliedIn(url: string): Promise<string[]> {
  const db = createKnex(url);
  try {
    return (await db.schema.hasTable('knex_migrations')) ? await db('knex_migrations').orderBy('id').pluck('name') : [];
  } finally {
    await db.destroy();
  }
}
