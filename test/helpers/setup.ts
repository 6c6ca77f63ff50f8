import { afterAll, afterEach, beforeAll } from '@jest/globals';
import nock from 'nock';
import { startProvider, type RunningProvider } from './provider.js';
import { relyingParty, type RelyingParty } from './relying-party.js';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../../src/db/knex.js';
import { POSTGRES, testDatabaseUrl } from './database.js';
import type { Logger } from '../../src/log.js';

export interface Suite {
  op: RunningProvider;
  rp: RelyingParty;
}

/**
 * One provider for a test file, with WeChat's API faked by nock (loopback stays real) and a
 * relying party registered as `web-app`. Read `op` and `rp` inside tests, after beforeAll.
 */
export function useProvider(env: Record<string, string | undefined> = {}, options: { logger?: Logger } = {}): Suite {
  const suite = {} as Suite;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    suite.op = await startProvider(env, options);
    suite.rp = await relyingParty(suite.op.issuer);
  });
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    await suite.op.close();
    nock.enableNetConnect();
  });
  return suite;
}

export interface Pair {
  a: RunningProvider;
  b: RunningProvider;
}

/**
 * Two instances on one database behind one public issuer (A's), as in production behind a
 * load balancer; WeChat's API faked by nock. Read `a` and `b` inside tests.
 */
export function useTwoInstances(): Pair {
  const pair = {} as Pair;
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    database = await testDatabaseUrl();
    pair.a = await startProvider({}, { databaseUrl: database.url });
    pair.b = await startProvider({ ISSUER: pair.a.issuer }, { databaseUrl: database.url });
  });
  afterAll(async () => {
    await Promise.all([pair.a.close(), pair.b.close()]);
    await database.drop();
    nock.enableNetConnect();
  });
  return pair;
}

/** The same URL, sent to instance `to` instead of the public issuer `issuer`. */
export function via(to: RunningProvider, issuer: string, url: string): string {
  return url.replace(issuer, `http://127.0.0.1:${(to.server.address() as { port: number }).port}`);
}

/**
 * A new database on PostgreSQL itself (POSTGRES; for files in test/postgres/), migrated,
 * for a test file, and dropped
 * after it. Read `db` inside tests, after beforeAll.
 */
export function usePostgresDatabase(): { db: Knex } {
  const suite = {} as { db: Knex };
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  beforeAll(async () => {
    database = await testDatabaseUrl(POSTGRES);
    suite.db = createKnex(database.url);
    await migrateLatest(suite.db);
  });
  afterAll(async () => {
    await suite.db.destroy();
    await database.drop();
  });
  return suite;
}
