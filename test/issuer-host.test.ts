import { connect } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { useProvider } from './helpers/setup.js';
import { proxied } from './helpers/proxied.js';

// Cookies belong to one host name: a browser that opened the provider by another name
// (localhost for 127.0.0.1, a bare IP, an old domain) is sent to the issuer's before any
// cookie is set, so its sign-in does not end in "the sign-in expired".
const t = useProvider();
const other = () => `localhost:${new URL(t.op.issuer).port}`;

describe('a browser on another host name than the issuer', () => {
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

  it('does not move a form post or a token request (their answer says what is wrong)', async () => {
    const response = await proxied(`${t.op.issuer}/token`, other(), { method: 'POST' });
    expect(response.status).toBe(400);
  });
});
