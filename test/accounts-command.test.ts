import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { AccountStore } from '../src/accounts/store.js';
import type { Account } from '../src/accounts/types.js';
import { testDatabaseUrl } from './helpers/database.js';
import { databaseLine, emptyDirectory, removeDirectories, runOperatorCommand } from './helpers/command.js';

// `npm run accounts -- …` as an operator runs it, on a database holding a few accounts (on
// PostgreSQL when TEST_DATABASE_URL says so: `find` matches nicknames differently there).
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let db: Knex;
const people: Record<'alice' | 'aliceTwin' | 'xiaohong' | 'sale', Account> = {} as never;

const profile = (openid: string, nickname: string, unionid?: string) => ({
  appId: 'wxofficial',
  openid,
  unionid,
  nickname,
  headimgurl: '',
});

beforeAll(async () => {
  database = await testDatabaseUrl();
  db = createKnex(database.url);
  await migrateLatest(db);
  const store = new AccountStore(db);
  people.alice = await store.register(profile('o-alice', 'Alice Wang', 'u-alice'));
  // Its openid starts like Alice's: an openid must match whole.
  people.aliceTwin = await store.register(profile('o-alice-2', 'Zed'));
  people.xiaohong = await store.register(profile('o-xiaohong', '小红🌸'));
  people.sale = await store.register(profile('o-sale', '50% off_sale'));
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
  removeDirectories();
});

const accounts = (...args: string[]) => runOperatorCommand('accounts-cli.js', database.url, args);

const HEADER = /^SUB\s+STATUS\s+CREATED\s+NICKNAME\s+WECHAT IDENTITIES \(app id:openid\)$/;

/** The subs a listing shows, in its order. */
const subsIn = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{2,}/)[0]);

describe('npm run accounts -- find', () => {
  it('finds an account by its WeChat openid or unionid, or its sub, whole', async () => {
    for (const text of ['o-alice', 'u-alice', people.alice.id]) {
      const found = await accounts('find', text);
      expect(found.code).toBe(0);
      expect(found.stdout.split('\n')[0]).toMatch(HEADER);
      expect(subsIn(found.stdout)).toEqual([people.alice.id]);
    }
    expect(subsIn((await accounts('find', 'o-alice-2')).stdout)).toEqual([people.aliceTwin.id]);
  });

  it('finds accounts by part of the nickname, in any case', async () => {
    expect(subsIn((await accounts('find', 'alice')).stdout)).toEqual([people.alice.id]);
    expect(subsIn((await accounts('find', 'CE WA')).stdout)).toEqual([people.alice.id]);
    expect(subsIn((await accounts('find', '小红')).stdout)).toEqual([people.xiaohong.id]);
  });

  it('takes % and _ as themselves, not as wildcards', async () => {
    expect(subsIn((await accounts('find', '%')).stdout)).toEqual([people.sale.id]);
    expect(subsIn((await accounts('find', '_')).stdout)).toEqual([people.sale.id]);
    expect((await accounts('find', 'A%W')).stdout).toBe('no account matches A%W\n');
  });

  it('says when nothing matches, and takes text that looks like an option after --', async () => {
    expect(await accounts('find', 'nobody')).toMatchObject({ code: 0, stdout: 'no account matches nobody\n' });
    expect(await accounts('find', '--', '-x')).toMatchObject({ code: 0, stdout: 'no account matches -x\n' });
    const missing = await accounts('find');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/find takes one argument, the text to look for\n\nUsage: npm run accounts/);
  });
});

describe('npm run accounts -- list', () => {
  it('prints only the table on stdout: the database line goes to stderr', async () => {
    const listing = await accounts('list');
    expect(listing.stdout.split('\n')[0]).toMatch(HEADER);
    expect(subsIn(listing.stdout).sort()).toEqual(
      Object.values(people)
        .map((account) => account.id)
        .sort(),
    );
    expect(databaseLine(listing.stderr)).toMatch(/^database: (SQLite \/|PostgreSQL postgres)/);
  });
});

describe('npm run accounts -- block and unblock', () => {
  /** A provider row (a session) held by the account, as a sign-in leaves it. */
  const sessionOf = (sub: string, id: string) =>
    db('oidc_models').insert({
      model: 'Session',
      id,
      payload: JSON.stringify({ accountId: sub }),
      account_id: sub,
      expires_at: Date.now() + 60_000,
    });
  const rowsOf = async (sub: string) => (await db('oidc_models').where({ account_id: sub }).pluck('id')).sort();

  it('blocks once; blocking again says so, exits 0 and revokes nothing', async () => {
    const sub = people.xiaohong.id;
    await sessionOf(sub, 'session-before');
    expect(await accounts('block', sub)).toMatchObject({ code: 0, stdout: `blocked ${sub}; revoked 1 session and token record\n` });
    expect(await rowsOf(sub)).toEqual([]);

    // Not something the provider lets happen; here it shows that a second block deletes nothing.
    await sessionOf(sub, 'session-after');
    expect(await accounts('block', sub)).toMatchObject({ code: 0, stdout: `${sub} is already blocked; nothing changed\n` });
    expect(await rowsOf(sub)).toEqual(['session-after']);
    expect(subsIn((await accounts('list', '--blocked')).stdout)).toEqual([sub]);
  });

  it('unblocks once; unblocking an active account says it is not blocked and exits 0', async () => {
    const sub = people.sale.id;
    await accounts('block', sub);
    expect(await accounts('unblock', sub)).toMatchObject({ code: 0, stdout: `unblocked ${sub}\n` });
    expect(await accounts('unblock', sub)).toMatchObject({ code: 0, stdout: `${sub} is not blocked; nothing changed\n` });
    expect(subsIn((await accounts('list', '--blocked')).stdout)).not.toContain(sub);
  });
});

describe('the database an accounts command acts on', () => {
  it('is not created unasked: a fresh one is refused, --create sets it up', async () => {
    const fresh = await testDatabaseUrl();
    try {
      const refused = await runOperatorCommand('accounts-cli.js', fresh.url, ['list']);
      expect(refused.code).toBe(1);
      // SQLite: the file is not there; PostgreSQL: the database is empty.
      expect(refused.stderr).toMatch(/^database: .*\n(no database at |no schema in this database ).*give --create .*\n$/);
      if (fresh.url.startsWith('sqlite:')) expect(existsSync(fresh.url.slice('sqlite:'.length))).toBe(false);

      const created = await runOperatorCommand('accounts-cli.js', fresh.url, ['list', '--create']);
      expect(created).toMatchObject({ code: 0, stdout: 'no accounts yet\n' });
      expect(created.stderr).toMatch(/created the schema \(\d+ migrations\)/);
    } finally {
      await fresh.drop();
    }
  });

  it('is refused when it was never migrated, even though the SQLite file is there', async () => {
    const file = join(emptyDirectory(), 'idp.sqlite3');
    writeFileSync(file, ''); // an empty file is an empty SQLite database
    const refused = await runOperatorCommand('accounts-cli.js', `sqlite:${file}`, ['block', people.alice.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no schema in this database (DATABASE_URL): it was never migrated; give --create');
    const check = createKnex(`sqlite:${file}`);
    try {
      expect(await check.schema.hasTable('accounts')).toBe(false);
    } finally {
      await check.destroy();
    }
  });

  it('--help prints the usage and touches no database', async () => {
    const url = `sqlite:${join(emptyDirectory(), 'idp.sqlite3')}`;
    for (const args of [['--help'], ['find', '-h'], ['help']]) {
      const run = await runOperatorCommand('accounts-cli.js', url, args);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^Usage: npm run accounts -- <command>\n[^]*find <text>/);
    }
    expect(existsSync(url.slice('sqlite:'.length))).toBe(false);
  });
});
