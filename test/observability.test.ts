import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { listenForMetrics } from '../src/observability/metrics-server.js';
import { WeChatClient, type WeChatAttempt } from '../src/wechat/client.js';
import { Browser } from './helpers/browser.js';
import { startProvider, TEST_APP, WEB_APP_SECRET } from './helpers/provider.js';
import { useProvider } from './helpers/setup.js';
import { openLoginPage, returnFromWeChat, signIn, startWeChat } from './helpers/sign-in.js';
import { newWeChatUser, WECHAT_API, wechatError, wechatNewUser } from './helpers/wechat.js';

interface LogLine {
  level: number;
  event?: string;
  outcome?: string;
  requestId?: string;
  path?: string;
  method?: string;
  status?: number;
  durationMs?: number;
  uid?: string;
}

const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});
const t = useProvider({}, { logger: createLogger('debug', sink) });

const parsed = (): LogLine[] =>
  logLines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
const requestLines = () => parsed().filter((line) => line.event === 'request');

/** Secrets one whole sign-in handled, for checking they never reach the log. */
const seen: string[] = [TEST_APP.appSecret, WEB_APP_SECRET];
const uids: string[] = [];

// As main.ts serves them: on a port of their own, loopback.
let metricsListener: Awaited<ReturnType<typeof listenForMetrics>>;
beforeAll(async () => {
  metricsListener = await listenForMetrics(t.op.idp.metricsApp, 0, '127.0.0.1');
});
afterAll(() => new Promise<void>((resolve) => metricsListener.server.close(() => resolve())));

async function metricsText(): Promise<string> {
  const response = await fetch(metricsListener.address);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe('request logs', () => {
  it('logs each request of a sign-in with the same requestId as its "signin" line', async () => {
    const user = newWeChatUser();
    wechatNewUser('obs-code-new', user);
    const browser = new Browser();
    const { tokens, uid } = await signIn(browser, t.op.issuer, t.rp, 'obs-code-new');
    uids.push(uid);
    seen.push('obs-code-new', tokens.access_token, tokens.refresh_token!, tokens.id_token!);
    for (const cookie of await browser.jar.getCookies(t.op.issuer)) seen.push(cookie.value);

    const signin = parsed().find((line) => line.event === 'signin' && line.outcome === 'registered' && line.uid === uid);
    expect(signin?.requestId).toBeTruthy();
    const callback = requestLines().filter((line) => line.requestId === signin!.requestId);
    expect(callback).toHaveLength(1);
    expect(callback[0]).toMatchObject({ level: 30, method: 'GET', path: `/interaction/${uid}/wechat/callback`, status: 303 });
    expect(typeof callback[0]!.durationMs).toBe('number');

    // Every request got a line of its own, each with its own id.
    const lines = requestLines();
    expect(lines.map((line) => line.path)).toEqual(
      expect.arrayContaining(['/auth', `/interaction/${uid}`, `/interaction/${uid}/wechat`, '/token']),
    );
    const ids = lines.map((line) => line.requestId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("honours a caller's plain X-Request-Id and echoes it, and replaces anything else", async () => {
    const given = 'lb-7f3a.09_Z-1';
    const response = await fetch(`${t.op.issuer}/.well-known/openid-configuration`, { headers: { 'X-Request-Id': given } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(given);
    expect(requestLines().filter((line) => line.requestId === given)).toEqual([
      expect.objectContaining({ path: '/.well-known/openid-configuration', status: 200 }),
    ]);

    const ours = await fetch(`${t.op.issuer}/`, { headers: { 'X-Request-Id': 'also-fine' } });
    expect(ours.headers.get('x-request-id')).toBe('also-fine');

    for (const bad of ['x'.repeat(65), 'a b', '"},{"admin":true', '']) {
      const answer = await fetch(`${t.op.issuer}/jwks`, { headers: { 'X-Request-Id': bad } });
      const id = answer.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(id).not.toBe(bad);
    }
    const none = await fetch(`${t.op.issuer}/jwks`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never logs a query string, a code, a token or a cookie', async () => {
    await fetch(`${t.op.issuer}/no/such/page?code=obs-leak-code&access_token=obs-leak-token`);
    const log = logLines.join('');
    for (const line of requestLines()) expect(line.path).not.toContain('?');
    expect(log).not.toContain('obs-leak');
    expect(log).not.toMatch(/[?&](code|state|access_token)=/);
    for (const secret of seen) expect(log).not.toContain(secret);
  });
});

describe('metrics', () => {
  it('counts sign-in outcomes', async () => {
    const text = await metricsText();
    expect(text).toContain('idp_signins_total{outcome="registered"} 1\n');
    expect(text).toContain('idp_signins_total{outcome="signed_in"} 0\n');
  });

  it("counts WeChat's errcodes by endpoint and times WeChat's answers", async () => {
    wechatError('/sns/oauth2/access_token', 40029, 'invalid code');
    const browser = new Browser();
    const { url } = await t.rp.start();
    const { uid } = await openLoginPage(browser, t.op.issuer, url);
    uids.push(uid);
    const page = await returnFromWeChat(browser, t.op.issuer, await startWeChat(browser, t.op.issuer, uid), 'obs-code-bad');
    expect(page.status).toBe(400);

    const text = await metricsText();
    expect(text).toContain('idp_wechat_errors_total{endpoint="/sns/oauth2/access_token",errcode="40029"} 1\n');
    expect(text).toContain('idp_signins_total{outcome="wechat_error"} 1\n');
    // The new person's sign-in and this one each exchanged one code.
    expect(text).toContain('idp_wechat_request_duration_seconds_count{endpoint="/sns/oauth2/access_token"} 2\n');
    expect(text).toContain('idp_wechat_request_duration_seconds_count{endpoint="/sns/userinfo"} 1\n');
  });

  it('times HTTP requests by route pattern, never by raw path', async () => {
    const text = await metricsText();
    const routes = new Set([...text.matchAll(/^idp_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]));
    expect([...routes]).toEqual(
      expect.arrayContaining([
        '/interaction/:uid',
        '/interaction/:uid/wechat',
        '/interaction/:uid/wechat/callback',
        '/auth',
        '/token',
        '/.well-known/openid-configuration',
        '/jwks',
        'other',
      ]),
    );
    for (const route of routes) {
      for (const uid of uids) expect(route).not.toContain(uid);
      expect(route).not.toContain('/no/such');
    }
    expect(text).toMatch(
      /^idp_http_request_duration_seconds_count\{method="GET",route="\/interaction\/:uid\/wechat\/callback",status="303"\} 1$/m,
    );
    expect(text).toMatch(
      /^idp_http_request_duration_seconds_count\{method="GET",route="\/interaction\/:uid\/wechat\/callback",status="400"\} 1$/m,
    );
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="POST",route="\/token",status="200"\} 1$/m);
  });

  it("includes Node's process metrics", async () => {
    const text = await metricsText();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it("lets the WeChat client report each attempt's outcome", async () => {
    const attempts: WeChatAttempt[] = [];
    const client = new WeChatClient({
      apiOrigin: WECHAT_API,
      timeoutMs: 50,
      maxRetries: 1,
      retryDelayMs: 0,
      observer: (a) => attempts.push(a),
    });
    const profile = JSON.stringify({ openid: 'openid', nickname: 'n', headimgurl: '' });
    nock(WECHAT_API).get('/sns/userinfo').query(true).delay(500).reply(200, profile);
    nock(WECHAT_API).get('/sns/userinfo').query(true).reply(502, 'Bad Gateway');
    await expect(client.userInfo('at', 'openid')).rejects.toThrow('unavailable');
    nock(WECHAT_API).get('/sns/userinfo').query(true).reply(200, 'not json');
    nock(WECHAT_API).get('/sns/userinfo').query(true).reply(200, profile);
    await expect(client.userInfo('at', 'openid')).resolves.toMatchObject({ openid: 'openid' });

    expect(attempts.map((a) => a.errcode)).toEqual(['network', 'http_5xx', 'invalid_answer', undefined]);
    for (const a of attempts) {
      expect(a.endpoint).toBe('/sns/userinfo');
      expect(a.seconds).toBeGreaterThanOrEqual(0);
    }

    const failing = new WeChatClient({
      apiOrigin: WECHAT_API,
      observer: () => {
        throw new Error('broken observer');
      },
    });
    nock(WECHAT_API).get('/sns/userinfo').query(true).reply(200, profile);
    await expect(failing.userInfo('at', 'openid')).resolves.toMatchObject({ openid: 'openid' });
  });
});

describe('metrics', () => {
  it('are served on their own port only: the public port has none, whatever the spelling', async () => {
    // The attack: /Metrics, /metrics/ or /METRICS past a proxy rule that denies /metrics.
    for (const path of ['/metrics', '/metrics/', '/METRICS', '/Metrics', '/metrics?x=1']) {
      const response = await fetch(`${t.op.issuer}${path}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('idp_http_request');
    }
    expect(metricsListener.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await metricsText()).toContain('idp_http_request');
  });
});

describe('health', () => {
  it('answers /healthz and /readyz, logging them at debug only', async () => {
    const health = await fetch(`${t.op.issuer}/healthz`, { headers: { 'X-Request-Id': 'probe-healthz' } });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.op.issuer}/readyz`, { headers: { 'X-Request-Id': 'probe-readyz' } });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect(ready.headers.get('cache-control')).toBe('no-store');

    const probes = requestLines().filter((line) => line.requestId?.startsWith('probe-'));
    expect(probes.map((line) => [line.path, line.status, line.level])).toEqual([
      ['/healthz', 200, 20],
      ['/readyz', 200, 20],
    ]);
  });

  it('reports not ready, without details, once the database is gone', async () => {
    const op = await startProvider();
    try {
      expect((await fetch(`${op.issuer}/readyz`)).status).toBe(200);
      await op.idp.db.destroy();
      const ready = await fetch(`${op.issuer}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', database: 'unreachable' });
      const health = await fetch(`${op.issuer}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      await op.close();
    }
  });
});
