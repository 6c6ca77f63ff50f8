import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startProvider, type RunningProvider } from '../helpers/provider.js';
import { POSTGRES, testDatabaseUrl } from '../helpers/database.js';
import { relyingParty } from '../helpers/relying-party.js';

// Behind a load balancer an address's requests spread over the instances: the limit is the
// service's, not each instance's, so the counters live in PostgreSQL.
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let a: RunningProvider;
let b: RunningProvider;

beforeAll(async () => {
  database = await testDatabaseUrl(POSTGRES);
  const env = { TRUST_PROXY: '1', RATE_LIMIT_PER_ADDRESS: '10' };
  a = await startProvider(env, { databaseUrl: database.url });
  b = await startProvider({ ...env, ISSUER: a.issuer }, { databaseUrl: database.url });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await database?.drop();
});

describe('the per-address limit over two instances', () => {
  it('counts the requests both instances took: the 11th is refused wherever it lands', async () => {
    const rp = await relyingParty(a.issuer);
    const { url } = await rp.start();
    const bUrl = url.replace(a.issuer, `http://127.0.0.1:${(b.server.address() as { port: number }).port}`);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i += 1) {
      const response = await fetch(i % 2 ? bUrl : url, { redirect: 'manual', headers: { 'X-Forwarded-For': '203.0.113.50' } });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(303));
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
    const [row] = await a.idp.db('rate_limits').where({ key: 'address:203.0.113.50' }).select('points');
    expect(row.points).toBeGreaterThanOrEqual(11);
  });
});
