import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { testDatabaseUrl } from './helpers/database.js';
import { databaseLine, emptyDirectory, filesIn, removeDirectories, runOperatorCommand } from './helpers/command.js';

// `npm run keys -- …` as an operator runs it.
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;

beforeEach(async () => {
  database = await testDatabaseUrl();
});
afterEach(async () => {
  await database.drop();
});
afterAll(removeDirectories);

const keys = (...args: string[]) => runOperatorCommand('keys-cli.js', database.url, args);

const rowsOf = (listing: string) =>
  listing
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{2,}/));

describe('npm run keys', () => {
  it('rotates: the new key is published, the first keeps signing, and prune has nothing to delete yet', async () => {
    // A fresh database (no SQLite file, or an empty PostgreSQL database) is set up only when asked.
    const refused = await keys('list');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/give --create/);
    expect((await keys('list', '--create')).stdout).toMatch(/no signing keys yet/);

    const first = await keys('rotate');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/new signing key \S+\n {2}published now, signs from .* \(now\)/);
    const second = await keys('rotate', '--publish-for', '15');
    expect(second.stdout).toMatch(/signs from .* \(in 15 min\)/);
    expect(second.stdout).toMatch(/older keys stay published until:/);

    const listing = await keys('list');
    const rows = rowsOf(listing.stdout);
    expect(rows.map((row) => [row[0], row[2]])).toEqual([
      ['2', 'published'],
      ['1', 'signing'],
    ]);
    // Never key material: only kids and dates.
    expect(listing.stdout + second.stdout).not.toMatch(/"d"|"kty"|PRIVATE/);

    expect((await keys('prune')).stdout).toMatch(/no retired keys to delete/);
  });

  it('refuses an unknown option or command with the usage, and exits non-zero before opening any database', async () => {
    const bad = await keys('rotate', '--publish-for', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--publish-for needs a number of minutes/);
    expect(bad.stderr).toMatch(/Usage: npm run keys/);
    expect(databaseLine(bad.stderr)).toBeUndefined();
    expect((await keys('rotate', '--force')).stderr).toMatch(/Unknown option '--force'/);
    expect((await keys('spin')).stderr).toMatch(/unknown command spin/);
  });
});

describe('the database a keys command acts on', () => {
  it('is named first on stderr, so that stdout holds only the listing', async () => {
    await keys('list', '--create');
    const listing = await keys('list');
    expect(listing.stderr.split('\n')[0]).toMatch(/^database: (SQLite \/|PostgreSQL postgres)/);
    expect(listing.stdout).not.toMatch(/database:/);
  });

  it('is shown with its password hidden, also when it cannot be reached', async () => {
    // Port 1: nothing listens there, the connection is refused at once.
    const run = await runOperatorCommand('keys-cli.js', 'postgres://idp:s3cret-Pw0rd@127.0.0.1:1/idp', ['list']);
    expect(run.code).toBe(1);
    expect(databaseLine(run.stderr)).toBe('database: PostgreSQL postgres://idp:***@127.0.0.1:1/idp');
    expect(run.stderr + run.stdout).not.toContain('s3cret-Pw0rd');
    // The failure is one line after the database line: no stack.
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      databaseLine(run.stderr),
      expect.stringMatching(/^keys list failed: .*ECONNREFUSED/),
    ]);
  });

  it('is the default data/idp.sqlite3 under the current directory, which is not created unasked', async () => {
    const directory = emptyDirectory();
    const run = await runOperatorCommand('keys-cli.js', undefined, ['list'], { cwd: directory });
    expect(run.code).toBe(1);
    expect(databaseLine(run.stderr)).toBe(`database: SQLite ${join(directory, 'data', 'idp.sqlite3')}`);
    expect(run.stderr).toContain(`no database at ${join(directory, 'data', 'idp.sqlite3')} (DATABASE_URL): give --create`);
    // Nor is its directory: --create makes the file, never a directory a typo may have named.
    const create = await runOperatorCommand('keys-cli.js', undefined, ['list', '--create'], { cwd: directory });
    expect(create.code).toBe(1);
    expect(create.stderr).toContain(`${join(directory, 'data')} does not exist`);
    expect(filesIn(directory)).toEqual([]);
  });
});

describe('keys --help', () => {
  it.each([[['--help']], [['-h']], [['help']], [['rotate', '--help']]])('%j prints the usage and touches no database', async (args) => {
    const directory = emptyDirectory();
    const run = await runOperatorCommand('keys-cli.js', `sqlite:${join(directory, 'idp.sqlite3')}`, args);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: npm run keys -- <command>/);
    expect(run.stdout).toMatch(/--create/);
    expect(filesIn(directory)).toEqual([]);
  });
});
