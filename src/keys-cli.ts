// `npm run keys -- <command>`: the operator's view of the signing keys in the database named by
// DATABASE_URL. Migrates an existing database first. Prints kids and dates, never key material.
import { parseArgs as parseOptions } from 'node:util';
import type { Knex } from 'knex';
import { commonUsage, out, runCommand, table, time, UsageError } from './cli/command.js';
import { DEFAULT_PUBLISH_FOR_MS, DEFAULT_RETIRE_AFTER_MS, deleteRetiredKeys, listKeys, rotateSigningKey } from './oidc/keys.js';

const MINUTE = 60_000;

const USAGE = `Usage: npm run keys -- <command>

  list      every signing key with its status and dates
  rotate    add a new key, published now, signing after --publish-for minutes
            (default ${DEFAULT_PUBLISH_FOR_MS / MINUTE}); older keys stay published --retire-after minutes
            longer (default ${DEFAULT_RETIRE_AFTER_MS / MINUTE}, 14 days: the session lifetime, so ID
            tokens kept by apps for logout still verify)
  prune     delete the keys that are no longer published

${commonUsage(`set up a new database (SQLite file or schema) if there is none; without it a
DATABASE_URL naming an SQLite file that does not exist, or a database the service
never migrated, is refused`)}`;

type Command = { name: 'list' } | { name: 'prune' } | { name: 'rotate'; publishFor: number; retireAfter: number };

/** A duration given in minutes on the command line, in milliseconds. */
function minutes(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`rotate: ${option} needs a number of minutes (0 or more)`);
  return Math.round(Number(value) * MINUTE);
}

function parseArgs(args: string[]): Command | 'help' {
  const [name, ...rest] = args;
  if (name === undefined) return 'help';
  if (name === 'list' || name === 'prune') {
    if (rest.length > 0) throw new UsageError(`${name} takes no arguments (got ${rest.join(' ')})`);
    return { name };
  }
  if (name === 'rotate') {
    let values: { 'publish-for'?: string; 'retire-after'?: string };
    try {
      ({ values } = parseOptions({
        args: rest,
        options: { 'publish-for': { type: 'string' }, 'retire-after': { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError(`rotate: ${(error as Error).message}`);
    }
    return {
      name,
      publishFor: minutes('--publish-for', values['publish-for'], DEFAULT_PUBLISH_FOR_MS),
      retireAfter: minutes('--retire-after', values['retire-after'], DEFAULT_RETIRE_AFTER_MS),
    };
  }
  throw new UsageError(`unknown command ${name}`);
}

/** "in 1 h 10 min" / "5 min ago" / "now", rounded to the minute. */
function relative(ms: number, now: number): string {
  const minutes = Math.round((ms - now) / MINUTE);
  if (minutes === 0) return 'now';
  const abs = Math.abs(minutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  const span = [h > 0 ? `${h} h` : '', m > 0 || h === 0 ? `${m} min` : ''].filter(Boolean).join(' ');
  return minutes > 0 ? `in ${span}` : `${span} ago`;
}

async function run(db: Knex, command: Command): Promise<void> {
  const now = Date.now();
  switch (command.name) {
    case 'list': {
      const keys = await listKeys(db, now);
      if (keys.length === 0) {
        out('no signing keys yet: the first start of the service makes one\n');
        return;
      }
      out(
        table([
          ['GEN', 'KID', 'STATUS', 'CREATED', 'SIGNS FROM', 'RETIRES'],
          ...keys.map((key) => [
            String(key.generation),
            key.kid,
            key.status,
            time(key.createdAt),
            time(key.signFrom),
            key.retireAt === null ? '-' : `${time(key.retireAt)} (${relative(key.retireAt, now)})`,
          ]),
        ]),
      );
      return;
    }
    case 'rotate': {
      const rotation = await rotateSigningKey(db, {
        publishFor: command.publishFor,
        retireAfter: command.retireAfter,
        now,
      });
      out(`new signing key ${rotation.kid}\n`);
      out(`  published now, signs from ${time(rotation.signFrom)} (${relative(rotation.signFrom, now)})\n`);
      if (rotation.retiring.length > 0 && command.publishFor < DEFAULT_PUBLISH_FOR_MS) {
        out(
          `  note: relying parties that cached the JWKS less than ${DEFAULT_PUBLISH_FOR_MS / MINUTE} minutes ago ` +
            'may reject its first tokens until they fetch the JWKS again\n',
        );
      }
      if (rotation.retiring.length === 0) out('no older keys to retire\n');
      else {
        out('older keys stay published until:\n');
        for (const key of rotation.retiring) out(`  ${key.kid}  ${time(key.retireAt)} (${relative(key.retireAt, now)})\n`);
      }
      return;
    }
    case 'prune': {
      const deleted = await deleteRetiredKeys(db, now);
      out(
        deleted.length === 0
          ? 'no retired keys to delete\n'
          : `deleted ${deleted.length} retired key${deleted.length === 1 ? '' : 's'}: ${deleted.join(', ')}\n`,
      );
      return;
    }
  }
}

await runCommand({ program: 'keys', usage: USAGE, parse: parseArgs, schema: 'migrated', run });
