import { describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { useProvider } from './helpers/setup.js';

// Pushed authorization requests, turned on by the operator: an app's server stores the
// request first and sends the browser with a short request_uri. Each stores up to 56 KB
// before anyone signs in, so only a client proving its secret may push.
const t = useProvider({ PUSHED_AUTHORIZATION_REQUESTS: 'true' });
const pushed = async () =>
  Number((await t.op.idp.db('oidc_models').where({ model: 'PushedAuthorizationRequest' }).count({ n: '*' }))[0]!.n);

describe('pushed authorization requests, when turned on', () => {
  it('are announced, and take a request from a client authenticating with HTTP Basic, which then signs in', async () => {
    const discovery = (await (await fetch(`${t.op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBe(`${t.op.issuer}/request`);
    const url = await oidc.buildAuthorizationUrlWithPAR(t.rp.config, {
      redirect_uri: t.rp.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: 'pushed',
    });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(await pushed()).toBe(1);
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/interaction\//);
  });

  it('refuse a public client, or any client not using HTTP Basic, before reading the body: nothing stored', async () => {
    const before = await pushed();
    const response = await fetch(`${t.op.issuer}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'demo', response_type: 'code', scope: 'openid', state: 'x'.repeat(50_000) }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    expect(await pushed()).toBe(before);
  });
});
