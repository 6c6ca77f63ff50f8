import { connect } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { useProvider } from './helpers/setup.js';
import { proxied } from './helpers/proxied.js';

// The service answers for the issuer's host name only: oidc-provider publishes the request's
// host in discovery, so another host must never get an answer naming it. In development a
// browser on the other loopback name (localhost for 127.0.0.1) is sent to the issuer's before
// any cookie is set, so its sign-in does not end in "the sign-in expired".
const t = useProvider();
const other = () => `localhost:${new URL(t.op.issuer).port}`;

describe('a browser on the other loopback name than the issuer', () => {
  it('is sent to the same path and query on the issuer, with no cookie set', async () => {
    const response = await proxied(`${t.op.issuer}/auth?client_id=web-app&scope=openid`, other());
    expect(response.status).toBe(307);
    expect(response.header('location')).toBe(`${t.op.issuer}/auth?client_id=web-app&scope=openid`);
    expect(response.cookies).toEqual([]);
  });

  it('is never sent off the issuer by a path that looks like another host', async () => {
    // Written on a socket as a browser sends it: HTTP clients (and nock's interceptor) would
    // read //evil.example as a host themselves.
    const { port } = new URL(t.op.issuer);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end(`GET //evil.example/x HTTP/1.1\r\nHost: ${other()}\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 307 /);
    expect(answer).toContain(`\r\nLocation: ${t.op.issuer}//evil.example/x\r\n`);
  });

  it('reaches the page itself on the issuer host name, whatever the port', async () => {
    const response = await proxied(`${t.op.issuer}/`, new URL(t.op.issuer).hostname);
    expect(response.status).toBe(200);
  });

  it('leaves probes alone, which load balancers send to any name', async () => {
    expect((await proxied(`${t.op.issuer}/healthz`, other())).status).toBe(200);
  });

  it('does not move a form post or a token request: 421', async () => {
    const response = await proxied(`${t.op.issuer}/token`, other(), { method: 'POST' });
    expect(response.status).toBe(421);
  });
});

describe('a request for any other host', () => {
  // The attack: `Host: evil.example` (or X-Forwarded-Host) on discovery, so that the document,
  // perhaps cached on the way, sends apps' codes and client secrets to evil.example.
  it.each(['evil.example', 'evil.example:443', 'id.example.com.evil.example'])('is refused with 421 and never named (%s)', async (host) => {
    for (const path of ['/.well-known/openid-configuration', '/jwks', '/auth?client_id=web-app', '/', '/interaction/x']) {
      const response = await proxied(`${t.op.issuer}${path}`, host);
      expect(response.status).toBe(421);
      expect(response.body).not.toContain('evil.example');
      expect(response.header('location')).toBeNull();
      expect(response.cookies).toEqual([]);
    }
    expect((await proxied(`${t.op.issuer}/token`, host, { method: 'POST' })).status).toBe(421);
  });

  it('never believes X-Forwarded-Host', async () => {
    const response = await proxied(`${t.op.issuer}/.well-known/openid-configuration`, new URL(t.op.issuer).host, {
      headers: { 'x-forwarded-host': 'evil.example' },
    });
    expect(response.status).toBe(200);
    expect(response.body).not.toContain('evil.example');
    expect(JSON.parse(response.body)).toMatchObject({ token_endpoint: `${t.op.issuer}/token` });
  });

  it('lets discovery and the keys be cached, as they name the issuer only', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const response = await proxied(`${t.op.issuer}${path}`, new URL(t.op.issuer).host);
      expect(response.header('cache-control')).toBe('public, max-age=300');
    }
  });

  it('still answers probes sent to an instance address', async () => {
    expect((await proxied(`${t.op.issuer}/healthz`, '10.1.2.3:3000')).status).toBe(200);
  });
});
