// What the operator commands (`npm run keys`, `npm run accounts`, `npm run migrate`) share:
// the options every command takes, the line naming the database it acts on, the refusal to
// create a database unasked, plain-text tables and times, and failures reported in a line.
import type { Knex } from 'knex';
import { ConfigError } from '../config/errors.js';
import { databaseTarget, sqliteDirectoryProblem, sqliteFileExists, withoutPassword, type DatabaseTarget } from '../db/target.js';
import { migrationSource } from '../../migrations/index.js';

/** A mistake in the command line: printed with the usage text. */
export class UsageError extends Error {}

/** A refusal or failure that says all the operator needs: printed as it is. */
export class CommandError extends Error {}

/** The command's output: stdout, so that `npm run accounts -- list > file` keeps only the table. */
export const out = (text: string) => process.stdout.write(text);

/** What is said about the command's work rather than its output (the database line): stderr. */
export const note = (text: string) => process.stderr.write(text);

/** ISO time to the second. */
export const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `count` followed by `noun`, in the plural unless it is one. */
export const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * The end of every usage text: the options every command takes (`create` says what --create
 * does for this program), the database it acts on, and where its output goes.
 */
export const commonUsage = (create: string) => `Options (anywhere before a --):
  --create      ${create.trim().split('\n').join('\n                ')}
  --help, -h    print this text and touch no database (also: help)

Acts on the database named by DATABASE_URL (default sqlite:data/idp.sqlite3, relative to
the current directory), and first names it on stderr, password hidden:
  database: SQLite /srv/idp/data/idp.sqlite3
  database: PostgreSQL postgres://idp:***@db:5432/idp
Results go to stdout; that line, notes and errors go to stderr.
`;

/** `--help`, `-h` and `--create` may stand anywhere before a `--`; the rest is the command's. */
function commonOptions(args: string[]): { help: boolean; create: boolean; args: string[] } {
  const rest: string[] = [];
  let help = false;
  let create = false;
  let literal = false;
  for (const arg of args) {
    if (literal) rest.push(arg);
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--create') create = true;
    else {
      // After `--` every argument is the command's, even one spelled like an option.
      literal = arg === '--';
      rest.push(arg);
    }
  }
  return { help: help || rest[0] === 'help', create, args: rest };
}

/** The one argument a command takes (a sub, a search text), after an optional `--`. */
export function oneArgument(args: string[], message: string): string {
  const values = args[0] === '--' ? args.slice(1) : args;
  if (values.length !== 1 || !values[0]) throw new UsageError(message);
  return values[0];
}

/**
 * Without --create, a DATABASE_URL naming an SQLite file that is not there is a mistake (a
 * typo, another directory): opening it would create an empty database, and people signing
 * in would get new accounts and new `sub`s.
 */
function checkSqliteFile(target: DatabaseTarget, create: boolean): void {
  if (target.kind !== 'sqlite' || target.file === ':memory:' || sqliteFileExists(target)) return;
  if (!create) {
    throw new CommandError(
      `no database at ${target.file} (DATABASE_URL): give --create to create a new one, ` + "or set DATABASE_URL to the service's database",
    );
  }
  const problem = sqliteDirectoryProblem(target);
  if (problem) throw new CommandError(`cannot create ${target.file}: ${problem}`);
  note(`creating a new database at ${target.file}\n`);
}

/** knex's own table of applied migrations (db/knex.ts keeps knex's default name). */
const MIGRATIONS_TABLE = 'knex_migrations';

export interface MigrationStatus {
  /** false: the database was never migrated (no migrations table yet). */
  tracked: boolean;
  /** Applied, in the order they were applied. */
  applied: string[];
  /** Known to this version and not applied yet, in the order they will be. */
  pending: string[];
  /** Applied, but unknown to this version: the database belongs to a newer one. */
  unknown: string[];
}

/**
 * Which migrations the database has. Read here rather than with knex's `migrate.list()`,
 * which creates knex's tables when they are missing: looking must change nothing.
 */
export async function migrationStatus(db: Knex): Promise<MigrationStatus> {
  const known = (await migrationSource.getMigrations([])).map((m) => migrationSource.getMigrationName(m));
  const tracked = await db.schema.hasTable(MIGRATIONS_TABLE);
  const applied: string[] = tracked ? await db(MIGRATIONS_TABLE).orderBy('id').pluck('name') : [];
  return {
    tracked,
    applied,
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
  };
}

/** A newer version's schema: its migrations cannot be checked, nor rolled forward from here. */
export function refuseUnknownMigrations(status: MigrationStatus): void {
  if (status.unknown.length === 0) return;
  throw new CommandError(
    `the database has migrations this version does not know (${status.unknown.join(', ')}): ` +
      'run the commands of the version the service runs',
  );
}

/**
 * keys and accounts need the service's schema. A database that never had it is refused
 * unless --create: a wrong PostgreSQL database is as easy to name as a wrong SQLite file.
 * An existing one is brought up to date first, which lets them run right after an upgrade.
 */
async function schemaUpToDate(db: Knex, create: boolean): Promise<void> {
  const status = await migrationStatus(db);
  if (!status.tracked && !create) {
    throw new CommandError(
      'no schema in this database (DATABASE_URL): it was never migrated; give --create to set it up, ' +
        "or set DATABASE_URL to the service's database",
    );
  }
  refuseUnknownMigrations(status);
  if (status.pending.length === 0) return;
  const { migrateLatest } = await import('../db/knex.js');
  await migrateLatest(db);
  note(
    status.tracked
      ? `migrated: applied ${status.pending.join(', ')}\n`
      : `created the schema (${plural(status.pending.length, 'migration')})\n`,
  );
}

/** The password in DATABASE_URL, to be kept out of any message. */
function passwordOf(databaseUrl: string): string | undefined {
  if (!URL.canParse(databaseUrl)) return undefined;
  const { password } = new URL(databaseUrl);
  return password ? decodeURIComponent(password) : undefined;
}

/** A failure as one line: without stack or line breaks, and without the database password. */
function failureLine(error: unknown, commandName: string, databaseUrl: string | undefined): string {
  let line: string;
  if (error instanceof ConfigError) line = `Configuration error: ${error.problems.join('; ')}`;
  else if (error instanceof CommandError) line = error.message;
  else {
    // A refused connection may be an AggregateError (one error per address) without a message.
    const err = error as { message?: string; code?: string; errors?: { message?: string }[] };
    line = `${commandName} failed: ${err?.message || err?.errors?.[0]?.message || err?.code || String(error)}`;
  }
  line = line.replace(/\s*\n\s*/g, ' ');
  if (databaseUrl) {
    line = line.split(databaseUrl).join(withoutPassword(databaseUrl));
    const password = passwordOf(databaseUrl);
    // A password of a character or two would blot out ordinary words while hiding nothing.
    if (password && password.length >= 3) line = line.split(password).join('***');
  }
  return `${line}\n`;
}

/**
 * Parses the arguments, then runs the command against the database named by DATABASE_URL,
 * printing which one first. `--help` and mistakes in the arguments stop before any database
 * (or setting) is read. Any failure ends in one line on stderr and exit code 1, never a stack.
 *
 * `schema: 'migrated'` (keys, accounts): the service's schema is brought up to date first,
 * and a database that never had it is refused without --create. `'as-is'` (migrate): the
 * command is handed the database as it is.
 */
export async function runCommand<C extends { name: string }>(options: {
  program: string;
  usage: string;
  parse: (args: string[]) => C | 'help';
  schema: 'migrated' | 'as-is';
  run: (db: Knex, command: C) => Promise<void>;
}): Promise<void> {
  let commandName = options.program;
  let databaseUrl: string | undefined;
  try {
    const { help, create, args } = commonOptions(process.argv.slice(2));
    const command = help ? 'help' : options.parse(args);
    if (command === 'help') {
      out(options.usage);
      return;
    }
    commandName = `${options.program} ${command.name}`;
    // Loaded only once a database is wanted: `--help` and usage errors answer at once.
    const [{ readSettings }, { createKnex }] = await Promise.all([import('../config/env.js'), import('../db/knex.js')]);
    databaseUrl = readSettings(process.env).databaseUrl;
    const target = databaseTarget(databaseUrl);
    note(`database: ${target.label}\n`);
    checkSqliteFile(target, create);
    const db = createKnex(databaseUrl);
    try {
      if (options.schema === 'migrated') await schemaUpToDate(db, create);
      await options.run(db, command);
    } finally {
      await db.destroy();
    }
  } catch (error) {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${options.usage}`);
    else process.stderr.write(failureLine(error, commandName, databaseUrl));
    process.exitCode = 1;
  }
}
