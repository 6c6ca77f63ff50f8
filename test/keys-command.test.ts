import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { testDatabaseUrl } from './helpers/database.js';
import { runOperatorCommand } from './helpers/command.js';

// `npm run keys -- …` as an operator runs it.
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;

beforeEach(async () => {
  database = await testDatabaseUrl();
});
afterEach(async () => {
  await database.drop();
});

const keys = (...args: string[]) => runOperatorCommand('keys-cli.js', database.url, args);

const rowsOf = (listing: string) => listing.trim().split('\n').slice(1).map((line) => line.split(/\s{2,}/));

describe('npm run keys', () => {
  it('rotates: the new key is published, the first keeps signing, and prune has nothing to delete yet', async () => {
    expect((await keys('list')).stdout).toMatch(/no signing keys yet/);

    const first = await keys('rotate');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/new signing key \S+\n {2}published now, signs from .* \(now\)/);
    const second = await keys('rotate', '--publish-for', '15');
    expect(second.stdout).toMatch(/signs from .* \(in 15 min\)/);
    expect(second.stdout).toMatch(/older keys stay published until:/);

    const listing = await keys('list');
    const rows = rowsOf(listing.stdout);
    expect(rows.map((row) => [row[0], row[2]])).toEqual([['2', 'published'], ['1', 'signing']]);
    // Never key material: only kids and dates.
    expect(listing.stdout + second.stdout).not.toMatch(/"d"|"kty"|PRIVATE/);

    expect((await keys('prune')).stdout).toMatch(/no retired keys to delete/);
  });

  it('refuses an unknown option or command with the usage, and exits non-zero', async () => {
    const bad = await keys('rotate', '--publish-for', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--publish-for needs a number of minutes/);
    expect(bad.stderr).toMatch(/Usage: npm run keys/);
    expect((await keys('rotate', '--force')).stderr).toMatch(/Unknown option '--force'/);
    expect((await keys('spin')).stderr).toMatch(/unknown command spin/);
  });
});
