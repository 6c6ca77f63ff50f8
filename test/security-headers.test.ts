import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { proxied } from './helpers/proxied.js';

// Pages get helmet's whole set (see pages.test.ts for the policy itself); the JSON endpoints
// get the few headers that mean something to a program, and the same HSTS as pages.
let op: RunningProvider;
let origin: string;
beforeAll(async () => {
  op = await startProvider({ ISSUER: 'https://id.example.test' });
  origin = `http://127.0.0.1:${(op.server.address() as { port: number }).port}`;
});
afterAll(() => op.close());

const API = ['/.well-known/openid-configuration', '/jwks', '/me', '/token', '/token/introspection', '/token/revocation'];

describe('security headers', () => {
  it.each(API)('on %s: no sniffing, no Referer, nothing allowed if opened as a page, HSTS; no document headers', async (path) => {
    const response = await proxied(`${origin}${path}`, 'id.example.test', { method: path.startsWith('/token') ? 'POST' : 'GET' });
    expect(response.header('x-content-type-options')).toBe('nosniff');
    expect(response.header('referrer-policy')).toBe('no-referrer');
    expect(response.header('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.header('strict-transport-security')).toBe(`max-age=${180 * 24 * 60 * 60}; includeSubDomains`);
    expect(response.header('x-frame-options')).toBeNull();
    expect(response.header('cross-origin-opener-policy')).toBeNull();
  });

  it.each(['/', '/auth', '/session/end'])('on %s (pages and redirects): the whole set, with the same HSTS', async (path) => {
    const response = await proxied(`${origin}${path}`, 'id.example.test');
    expect(response.header('x-frame-options')).toBe('DENY');
    expect(response.header('content-security-policy')).toContain("script-src 'self'");
    expect(response.header('referrer-policy')).toBe('no-referrer');
    expect(response.header('strict-transport-security')).toBe(`max-age=${180 * 24 * 60 * 60}; includeSubDomains`);
  });
});
