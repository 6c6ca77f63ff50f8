import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { addressKey } from '../src/limits/limited-routes.js';
import { FAILURE_COST } from '../src/limits/rate-limits.js';
import { deleteUnstartedInteractions, UNSTARTED_INTERACTION_MS } from '../src/interaction/unstarted.js';
import { useProvider } from './helpers/setup.js';

const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI';

/** A request from `address`, as the trusted proxy in front reports it. */
const from = (address: string, url: string, init: RequestInit = {}) =>
  fetch(url, { redirect: 'manual', ...init, headers: { ...(init.headers as Record<string, string>), 'X-Forwarded-For': address } });

const interactions = async (suite: { op: { idp: { db: import('knex').Knex } } }) => {
  const [row] = await suite.op.idp.db('oidc_models').where({ model: 'Interaction' }).count({ n: '*' });
  return Number(row!.n);
};

describe('a flood of authorization requests from one address', () => {
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const t = useProvider({ TRUST_PROXY: '1', RATE_LIMIT_PER_ADDRESS: '20' }, { logger: createLogger('info', sink) });

  it('gets 429s with Retry-After once over the limit, never a 5xx, and stores at most the limit', async () => {
    const { url } = await t.rp.start();
    const statuses: number[] = [];
    for (let i = 0; i < 60; i += 1) {
      const response = await from('203.0.113.7', url.replace(/state=[^&]+/, `state=flood${i}`));
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(60);
        expect(response.headers.get('content-type')).toMatch(/text\/html/);
        expect(await response.text()).toContain('data-message="too_many_requests"');
      } else {
        await response.arrayBuffer();
      }
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 303)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
    expect(await interactions(t)).toBeLessThanOrEqual(20);

    // One log line for the address going over, not one per refused request.
    const limited = logLines.filter((line) => line.includes('"event":"rate_limited"'));
    expect(limited).toHaveLength(1);
    expect(JSON.parse(limited[0]!)).toMatchObject({ limit: 'address', key: '203.0.113.7', path: '/auth' });
    const metric = await t.op.idp.metrics.registry.getSingleMetricAsString('idp_rate_limited_total');
    expect(metric).toContain('idp_rate_limited_total{limit="address",route="page"} 40');
  });

  it('leaves other addresses alone: a phone elsewhere still signs in', async () => {
    const { url } = await t.rp.start();
    const response = await from('198.51.100.20', url);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/\/interaction\//);
  });

  it('answers a program with an OAuth error in JSON', async () => {
    for (let i = 0; i < 25; i += 1) await (await from('203.0.113.8', `${t.op.issuer}/jwks`)).arrayBuffer(); // not counted
    const answers = [];
    for (let i = 0; i < 25; i += 1) {
      answers.push(await from('203.0.113.8', `${t.op.issuer}/me`, { headers: { Authorization: 'Bearer nope' } }));
    }
    const refused = answers.filter((a) => a.status === 429);
    // 401s are failures: each costs FAILURE_COST more, so the address runs out far sooner.
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(Math.ceil(20 / (1 + FAILURE_COST)));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused[0]!.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });
});

describe('the per-client limit', () => {
  const t = useProvider({ TRUST_PROXY: '1', RATE_LIMIT_PER_CLIENT: '5' });

  it('caps the sign-ins one registered client can start, from any number of addresses', async () => {
    const { url } = await t.rp.start();
    const statuses = [];
    for (let i = 0; i < 10; i += 1) {
      const response = await from(`192.0.2.${i + 1}`, url);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([303, 303, 303, 303, 303, 429, 429, 429, 429, 429]);
  });

  it('gives made-up client ids no counter of their own (the address limit still applies)', async () => {
    for (let i = 0; i < 10; i += 1) {
      const response = await from(`192.0.2.${i + 100}`, `${t.op.issuer}/auth?client_id=made-up-${i}&response_type=code&scope=openid`);
      await response.arrayBuffer();
      expect(response.status).toBe(400);
    }
  });

  it('counts a back-channel client by its HTTP Basic user', async () => {
    const basic = `Basic ${Buffer.from('first-party:wrong-secret').toString('base64')}`;
    const statuses = [];
    for (let i = 0; i < 8; i += 1) {
      const response = await from(`192.0.2.${i + 200}`, `${t.op.issuer}/token`, {
        method: 'POST',
        headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Ffp%2Fcallback',
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });
});

describe('limits turned off', () => {
  const t = useProvider({ RATE_LIMIT_PER_ADDRESS: '0', RATE_LIMIT_PER_CLIENT: '0' });

  it('count nothing', async () => {
    const { url } = await t.rp.start();
    for (let i = 0; i < 30; i += 1) {
      const response = await fetch(url, { redirect: 'manual' });
      await response.arrayBuffer();
      expect(response.status).toBe(303);
    }
  });
});

describe('interactions that never reach WeChat', () => {
  const t = useProvider();

  it('are deleted after ten minutes, while one under way at WeChat stays', async () => {
    const start = async () => {
      const { url } = await t.rp.start();
      const response = await fetch(url, { redirect: 'manual' });
      const cookie = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      return { uid: new URL(response.headers.get('location')!, t.op.issuer).pathname.split('/').pop()!, cookie };
    };
    const { uid: idle } = await start();
    const { uid: atWeChat, cookie } = await start();
    const toWeChat = await fetch(`${t.op.issuer}/interaction/${atWeChat}`, {
      redirect: 'manual',
      headers: { 'User-Agent': WECHAT_UA, Cookie: cookie },
    });
    expect(toWeChat.headers.get('location')).toMatch(/^https:\/\/open\.weixin\.qq\.com\/connect\/oauth2\/authorize\?/);
    const ids = async () => (await t.op.idp.db('oidc_models').where({ model: 'Interaction' }).pluck('id')) as string[];
    expect(await ids()).toEqual(expect.arrayContaining([idle, atWeChat]));

    expect(await deleteUnstartedInteractions(t.op.idp.db, 1000, Date.now() + UNSTARTED_INTERACTION_MS - 60_000)).toBe(0);
    await deleteUnstartedInteractions(t.op.idp.db, 1000, Date.now() + UNSTARTED_INTERACTION_MS + 1000);
    const left = await ids();
    expect(left).not.toContain(idle);
    expect(left).toContain(atWeChat);
  });
});

describe('the address a counter is kept for', () => {
  it('is the IPv4 address, also when written IPv6-mapped', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('is the /64 of an IPv6 address: one subscriber cannot rotate through its block', () => {
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
