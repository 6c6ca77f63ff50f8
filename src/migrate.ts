// `npm run migrate -- [latest | status]`: brings the database named by DATABASE_URL up to
// date (what the service also does when it starts), or shows how far it is.
import type { Knex } from 'knex';
import { commonUsage, migrationStatus, out, plural, refuseUnknownMigrations, runCommand, table, UsageError } from './cli/command.js';

const USAGE = `Usage: npm run migrate -- [latest | status] [--create]

  latest    (the default) apply the migrations the database lacks, and name them
  status    list every migration by name, applied or pending; changes nothing

${commonUsage(`SQLite: create the database file if there is none (its directory must exist);
without it a DATABASE_URL naming a file that does not exist is refused.
An empty PostgreSQL database needs no --create: migrate sets it up`)}`;

type Command = { name: 'latest' } | { name: 'status' };

function parseArgs(args: string[]): Command {
  const [name = 'latest', ...rest] = args;
  if (name !== 'latest' && name !== 'status') throw new UsageError(`unknown command ${name}`);
  if (rest.length > 0) throw new UsageError(`${name} takes no arguments (got ${rest.join(' ')})`);
  return { name };
}

async function latest(db: Knex): Promise<void> {
  const before = await migrationStatus(db);
  refuseUnknownMigrations(before);
  if (before.pending.length > 0) {
    const { migrateLatest } = await import('./db/knex.js');
    await migrateLatest(db);
    // Named from the status before: another instance migrating at the same moment may have
    // applied some of them, but either way the database now has them.
    out(`applied ${plural(before.pending.length, 'migration')}:\n${before.pending.map((name) => `  ${name}\n`).join('')}`);
  }
  const after = await migrationStatus(db);
  out(`database is up to date: ${plural(after.applied.length, 'migration')} applied, ${after.pending.length} pending\n`);
}

async function status(db: Knex): Promise<void> {
  const { applied, pending, unknown } = await migrationStatus(db);
  out(
    table([
      ['MIGRATION', 'STATUS'],
      ...applied.map((name) => [name, unknown.includes(name) ? 'applied (unknown to this version)' : 'applied']),
      ...pending.map((name) => [name, 'pending']),
    ]),
  );
  out(`${applied.length} applied, ${pending.length} pending\n`);
}

await runCommand({
  program: 'migrate',
  usage: USAGE,
  parse: parseArgs,
  schema: 'as-is',
  run: (db, command) => (command.name === 'status' ? status(db) : latest(db)),
});
