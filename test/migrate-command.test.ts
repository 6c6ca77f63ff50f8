import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKnex } from '../src/db/knex.js';
import { databaseLine, emptyDirectory, filesIn, removeDirectories } from './helpers/command.js';
import { ALL, appliedIn, migrate, statusRows } from './helpers/migrate-command.js';

// `npm run migrate -- …` as an operator runs it: it names its database, never creates one
// unasked, migrates only when told to, and says what it applied.
afterAll(removeDirectories);

describe('npm run migrate on SQLite', () => {
  let directory: string;
  let url: string;
  beforeEach(() => {
    directory = emptyDirectory();
    url = `sqlite:${join(directory, 'idp.sqlite3')}`;
  });

  it('refuses a file that does not exist, and creates nothing', async () => {
    for (const args of [[], ['latest'], ['status']]) {
      const run = await migrate(url, ...args);
      expect(run.code).toBe(1);
      expect(databaseLine(run.stderr)).toBe(`database: SQLite ${join(directory, 'idp.sqlite3')}`);
      expect(run.stderr).toContain(`no database at ${join(directory, 'idp.sqlite3')} (DATABASE_URL): give --create to create a new one`);
    }
    expect(filesIn(directory)).toEqual([]);
  });

  it('with --create, makes the database and names every migration it applied; a second run applies none', async () => {
    const created = await migrate(url, '--create');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(
      `applied ${ALL.length} migrations:\n${ALL.map((name) => `  ${name}\n`).join('')}` +
        `database is up to date: ${ALL.length} migrations applied, 0 pending\n`,
    );
    expect(await appliedIn(url)).toEqual(ALL);

    const again = await migrate(url);
    expect(again).toMatchObject({ code: 0, stdout: `database is up to date: ${ALL.length} migrations applied, 0 pending\n` });
  });

  it('with --create, still needs the directory to exist', async () => {
    const run = await migrate(`sqlite:${join(directory, 'typo', 'idp.sqlite3')}`, '--create');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(directory, 'typo')} does not exist`);
    expect(run.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2); // at most the database line and the reason
    expect(filesIn(directory)).toEqual([]);
  });

  it('status lists applied and pending migrations by name and changes nothing; latest then applies the pending ones', async () => {
    const db = createKnex(url);
    await db.migrate.up(); // the first two: a database of an older version
    await db.migrate.up();
    await db.destroy();

    const status = await migrate(url, 'status');
    expect(status.code).toBe(0);
    expect(statusRows(status.stdout)).toEqual(ALL.map((name, i) => [name, i < 2 ? 'applied' : 'pending']));
    expect(status.stdout.trim().split('\n').at(-1)).toBe(`2 applied, ${ALL.length - 2} pending`);
    expect(await appliedIn(url)).toEqual(ALL.slice(0, 2));

    const latest = await migrate(url, 'latest');
    expect(latest.stdout).toContain(
      `applied ${ALL.length - 2} migrations:\n${ALL.slice(2)
        .map((name) => `  ${name}\n`)
        .join('')}`,
    );
    expect(await appliedIn(url)).toEqual(ALL);
  });

  it('refuses a database migrated by a newer version, and status shows what it does not know', async () => {
    await migrate(url, '--create');
    const db = createKnex(url);
    await db('knex_migrations').insert({ name: '29991231_001_from_the_future', batch: 2, migration_time: new Date() });
    await db.destroy();

    const run = await migrate(url);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the database has migrations this version does not know \(29991231_001_from_the_future\)/);
    expect(statusRows((await migrate(url, 'status')).stdout).at(-1)).toEqual([
      '29991231_001_from_the_future',
      'applied (unknown to this version)',
    ]);
  });

  it.each([[['--help']], [['-h']], [['help']], [['status', '--help']]])('%j prints the usage and migrates nothing', async (args) => {
    // An empty SQLite file: a database that `migrate` would set up.
    writeFileSync(join(directory, 'idp.sqlite3'), '');
    const run = await migrate(url, ...args);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: npm run migrate -- \[latest \| status\]/);
    expect(await appliedIn(url)).toEqual([]);
  });

  it('refuses unknown arguments with the usage, before opening the database', async () => {
    for (const args of [['sideways'], ['status', 'now'], ['latest', '--force']]) {
      const run = await migrate(url, ...args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/Usage: npm run migrate/);
      expect(databaseLine(run.stderr)).toBeUndefined();
    }
    expect(filesIn(directory)).toEqual([]);
  });
});
