import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { get, GetFailed } from '../src/http/get.js';

// The GET client WeChat and the avatar downloads are called with (got), against a real server on loopback.
let server: Server;
let origin: string;
const connections = new Set<number>();
let userAgent: string | undefined;
let endlessClosed = false;

const routes: Record<string, (res: ServerResponse) => void> = {
  '/ok': (res) => res.end('{"errcode":0}'),
  '/big-declared': (res) => {
    res.setHeader('content-length', '5000');
    res.end('x'.repeat(5000));
  },
  '/big-streamed': (res) => {
    res.write('x'.repeat(3000));
    setTimeout(() => res.end('x'.repeat(3000)), 20);
  },
  '/slow': (res) => {
    setTimeout(() => res.end('late'), 2000);
  },
  '/slow-body': (res) => {
    res.write('{"errcode":');
    setTimeout(() => res.end('0}'), 2000);
  },
  // Chunked, without content-length, and never ending by itself.
  '/endless': (res) => {
    const timer = setInterval(() => res.write('x'.repeat(1024)), 5);
    res.on('close', () => {
      clearInterval(timer);
      endlessClosed = true;
    });
  },
  '/status': (res) => {
    res.statusCode = 503;
    res.end('busy');
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    connections.add(req.socket.remotePort!);
    userAgent = req.headers['user-agent'];
    routes[new URL(req.url!, 'http://x').pathname]!(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const options = { timeoutMs: 500, maxBytes: 4096 };
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('answered');
    },
    (error: unknown) => error as GetFailed,
  );

/** Everything a log line or an error report could show of the error: none of it may hold the URL or its query. */
function expectNoUrl(error: GetFailed): void {
  expect(error).toBeInstanceOf(GetFailed);
  expect(error.cause).toBeUndefined();
  for (const text of [error.message, String(error), error.stack ?? '', JSON.stringify(error)]) {
    expect(text).not.toContain('S3CRET');
    expect(text).not.toContain('/sns/');
  }
}

describe('GET to WeChat', () => {
  it('gives status, headers and body, names itself, and keeps the connection for the next call', async () => {
    connections.clear();
    const first = await get(new URL(`${origin}/ok?secret=S3CRET`), options);
    const second = await get(new URL(`${origin}/ok`), options);
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('{"errcode":0}');
    expect(second.body.toString()).toBe('{"errcode":0}');
    expect(connections.size).toBe(1);
    expect(userAgent).toBe('wechat-oidc-provider');
  });

  it('answers a 5xx as it came', async () => {
    const answer = await get(new URL(`${origin}/status`), options);
    expect(answer.status).toBe(503);
    expect(answer.body.toString()).toBe('busy');
  });

  it('refuses an answer over the size limit, declared or streamed', async () => {
    expect((await failure(get(new URL(`${origin}/big-declared`), options))).code).toBe('TOO_LARGE');
    expect((await failure(get(new URL(`${origin}/big-streamed`), options))).code).toBe('TOO_LARGE');
    // The connection that was cut does not spoil the next call.
    expect((await get(new URL(`${origin}/ok`), options)).status).toBe(200);
  });

  it('stops reading a body sent without content-length once it passes the limit', async () => {
    const error = await failure(get(new URL(`${origin}/endless?secret=S3CRET`), { ...options, timeoutMs: 5000 }));
    expect(error.code).toBe('TOO_LARGE');
    expectNoUrl(error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(endlessClosed).toBe(true);
  });

  it('gives up after the time limit with ETIMEDOUT, the URL and its secret left out', async () => {
    const error = await failure(get(new URL(`${origin}/slow?secret=S3CRET`), { ...options, timeoutMs: 100 }));
    expect(error.code).toBe('ETIMEDOUT');
    expectNoUrl(error);
  });

  it('counts the time spent reading the body in the same limit', async () => {
    const error = await failure(get(new URL(`${origin}/slow-body?secret=S3CRET`), { ...options, timeoutMs: 100 }));
    expect(error.code).toBe('ETIMEDOUT');
    expectNoUrl(error);
  });

  it('refuses anything but http and https', async () => {
    expect((await failure(get(new URL('ftp://127.0.0.1/avatar'), options))).code).toBe('EPROTO');
  });

  it('names a refused connection by its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(get(new URL(`http://127.0.0.1:${port}/sns/oauth2/access_token?secret=S3CRET`), options));
    expect(error.code).toBe('ECONNREFUSED');
    expectNoUrl(error);
  });
});
