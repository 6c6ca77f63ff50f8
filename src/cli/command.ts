// What the operator commands (`npm run keys`, `npm run accounts`) share: plain-text tables,
// times, and one way of starting: read DATABASE_URL, migrate, run, report failures in a line.
import type { Knex } from 'knex';
import { readSettings } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { createKnex, migrateLatest } from '../db/knex.js';

/** A mistake in the command line: printed with the usage text. */
export class UsageError extends Error {}

export const out = (text: string) => process.stdout.write(text);

/** ISO time to the second. */
export const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * Parses the arguments, then runs the command against the database named by DATABASE_URL
 * (migrated first). Any failure ends in one line on stderr and exit code 1, never a stack.
 */
export async function runCommand<C extends { name: string }>(options: {
  program: string;
  usage: string;
  parse: (args: string[]) => C | 'help';
  run: (db: Knex, command: C) => Promise<void>;
}): Promise<void> {
  let commandName = options.program;
  try {
    const command = options.parse(process.argv.slice(2));
    if (command === 'help') {
      out(options.usage);
      return;
    }
    commandName = `${options.program} ${command.name}`;
    const settings = readSettings(process.env);
    const db = createKnex(settings.databaseUrl);
    try {
      await migrateLatest(db);
      await options.run(db, command);
    } finally {
      await db.destroy();
    }
  } catch (error) {
    const err = error as Error;
    if (error instanceof UsageError) process.stderr.write(`${err.message}\n\n${options.usage}`);
    else if (error instanceof ConfigError) process.stderr.write(`Configuration error:\n${err.message}\n`);
    else process.stderr.write(`${commandName} failed: ${err.message}\n`);
    process.exitCode = 1;
  }
}
