import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { proxied } from './helpers/proxied.js';

// Behind a TLS-terminating proxy the service sees plain HTTP from the proxy's address. Only
// with TRUST_PROXY does it believe the proxy's X-Forwarded-* headers; otherwise anyone could
// claim to be on https or to come from any address.
const ISSUER = 'https://id.example.test';
const FORWARDED = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };

interface Instance {
  op: RunningProvider;
  lines: string[];
}
let trusted: Instance;
let untrusted: Instance;

async function start(env: Record<string, string>): Promise<Instance> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { op: await startProvider({ ISSUER, ...env }, { logger: createLogger('info', sink) }), lines };
}

beforeAll(async () => {
  trusted = await start({ TRUST_PROXY: '1' });
  untrusted = await start({});
});
afterAll(async () => {
  await Promise.all([trusted.op.close(), untrusted.op.close()]);
});

/** A sign-in request as the proxy forwards it; returns its cookies and its request log line. */
async function forwardedAuthorize(instance: Instance) {
  const port = (instance.op.server.address() as { port: number }).port;
  const url = new URL(`http://127.0.0.1:${port}/auth`);
  url.search = new URLSearchParams({
    client_id: 'web-app',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://127.0.0.1:9/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  const response = await proxied(url.href, new URL(ISSUER).host, { headers: FORWARDED });
  expect(response.status).toBe(303);
  const log = instance.lines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event?: string; path?: string; ip?: string })
    .find((line) => line.event === 'request' && line.path === '/auth');
  return { cookies: response.cookies, ip: log?.ip };
}

describe('TRUST_PROXY', () => {
  it('set: believes the proxy: secure cookies for https, and the address the proxy saw in the log', async () => {
    const { cookies, ip } = await forwardedAuthorize(trusted);
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/; secure/);
    // The proxy's own entry (the last one), not what the client put before it.
    expect(ip).toBe('203.0.113.7');
  });

  it('unset: ignores X-Forwarded-* headers anyone could send', async () => {
    const { ip } = await forwardedAuthorize(untrusted);
    expect(ip).toMatch(/127\.0\.0\.1/);
  });

  it('unset: still sets every cookie Secure, the issuer being https (a browser never sends them over plain HTTP)', async () => {
    const { cookies } = await forwardedAuthorize(untrusted);
    expect(cookies.map((cookie) => cookie.split('=')[0])).toEqual(expect.arrayContaining(['_interaction', '_interaction_resume']));
    for (const cookie of cookies) expect(cookie).toMatch(/; secure/);
    // Our own pages' cookies too (the language choice).
    const port = (untrusted.op.server.address() as { port: number }).port;
    const lang = await proxied(`http://127.0.0.1:${port}/lang/en?back=%2F`, new URL(ISSUER).host);
    expect(lang.cookies.length).toBeGreaterThan(0);
    for (const cookie of lang.cookies) expect(cookie).toMatch(/; secure/);
  });
});
