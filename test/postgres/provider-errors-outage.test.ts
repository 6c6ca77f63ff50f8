import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../../src/db/knex.js';
import { knexAdapterFactory } from '../../src/oidc/adapter.js';
import { POSTGRES, testDatabaseUrl } from '../helpers/database.js';
import { appWith } from '../helpers/fronted-app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

// When the database goes away in the middle of a request, the answer must say so (a
// temporary condition, worth a retry) instead of handing out a token that was never stored.
// Only a database server can go away mid-request: PostgreSQL.
describe('the database going away while a token is stored', () => {
  let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
  let proxy: TcpProxy;
  let db: Knex;

  beforeAll(async () => {
    database = await testDatabaseUrl(POSTGRES);
    const target = new URL(database.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const relayed = new URL(database.url);
    relayed.host = `127.0.0.1:${proxy.port}`;
    db = createKnex(relayed.href);
    await migrateLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
    await proxy.close();
    await database.drop();
  });

  it('answers 503 temporarily_unavailable with Retry-After, and no token', async () => {
    const app = await appWith(async (ctx) => {
      await knexAdapterFactory(db)('AccessToken').upsert('stored-token', { accountId: 'x' }, 3600);
      proxy.cut();
      await knexAdapterFactory(db)('AccessToken').upsert('cut-token', { accountId: 'x' }, 3600);
      ctx.body = { access_token: 'cut-token' };
    });
    try {
      const response = await fetch(`${app.url}/token`, { method: 'POST' });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const body = await response.text();
      expect(JSON.parse(body)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      expect(body).not.toContain('cut-token');
    } finally {
      proxy.restore();
      await app.close();
    }
  });
});
