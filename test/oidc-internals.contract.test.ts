import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  isGrantTypeRefusal,
  loginStepRedirect,
  resumeCookies,
  saveInteractionResult,
  sendLogoutToken,
  signIdToken,
  type LoginStepRedirect,
} from '../src/oidc/internals.js';
import { interactionPath } from '../src/oidc/routes.js';
import { TTL } from '../src/oidc/ttl.js';

// What src/oidc/internals.ts assumes of oidc-provider beyond its documented API, checked
// against the installed library with a bare provider (nothing of ours around it but the fence
// itself). When an upgrade breaks one of these, this file fails and says which.
const CLIENT = { client_id: 'contract-app', client_secret: 'contract-secret-0123456789abcdef', redirect_uris: ['https://app.example/cb'] };
const COOKIE_KEYS = ['contract-cookie-key-0123456789abcdef'];
// A grant of our own that signs an ID token through the fence, as the WeChat code exchange does.
const ID_TOKEN_GRANT = 'urn:contract:id-token';
const GRANT_CLIENT = {
  client_id: 'contract-grant-app',
  client_secret: 'contract-secret-0123456789abcdef',
  grant_types: [ID_TOKEN_GRANT],
  response_types: [],
  redirect_uris: [],
};
const tokenAnswers: boolean[] = [];

/** oidc-provider's documented in-memory adapter shape, kept in a Map; `consume` may be made to refuse. */
class MapAdapter implements Adapter {
  static rows = new Map<string, AdapterPayload>();
  static refuseConsume = false;
  constructor(private readonly model: string) {}
  private key = (id: string) => `${this.model}:${id}`;
  async upsert(id: string, payload: AdapterPayload) {
    MapAdapter.rows.set(this.key(id), payload);
  }
  async find(id: string) {
    return MapAdapter.rows.get(this.key(id));
  }
  async findByUid(uid: string) {
    return [...MapAdapter.rows.entries()].find(([k, p]) => k.startsWith(`${this.model}:`) && p.uid === uid)?.[1];
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    if (MapAdapter.refuseConsume) throw new errors.InvalidGrant('grant request is invalid');
    const row = MapAdapter.rows.get(this.key(id));
    if (row) row.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    MapAdapter.rows.delete(this.key(id));
  }
  async revokeByGrantId() {}
}

let server: Server;
let issuer: string;
let provider: Provider;
const seen: LoginStepRedirect[] = [];
// An app's back-channel logout endpoint: what it was sent, and the status it answers with.
let receiver: Server;
const received: Array<{ contentType: string | undefined; body: string }> = [];
let receiverStatus = 200;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ contentType: req.headers['content-type'], body });
      res.statusCode = receiverStatus;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const logoutClient = {
    client_id: 'contract-logout-app',
    client_secret: 'contract-secret-0123456789abcdef',
    redirect_uris: ['https://logout-app.example/cb'],
    backchannel_logout_uri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/logout`,
    backchannel_logout_session_required: true,
  };
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    adapter: MapAdapter,
    clients: [CLIENT, logoutClient, GRANT_CLIENT],
    cookies: { keys: COOKIE_KEYS },
    jwks: {
      keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'contract', use: 'sig' }],
    },
    ttl: { ...TTL },
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: ['openid', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['nickname'], email: ['email'] },
    features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
    pkce: { required: () => false },
    renderError: async (ctx, out) => {
      ctx.body = out;
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    const step = loginStepRedirect(ctx);
    if (step) seen.push(step);
    if (ctx.path === '/token') tokenAnswers.push(isGrantTypeRefusal(ctx));
  });
  provider.registerGrantType(
    ID_TOKEN_GRANT,
    async (ctx) => {
      const claims = { sub: 'contract-account', nickname: 'Contract 🐼', email: 'contract@example.com' };
      ctx.body = { id_token: await signIdToken(ctx, claims, String(ctx.oidc.params.scope), { auth_time: 1234 }) };
    },
    ['scope'],
  );
  const callback = provider.callback();
  // The login step: ends its interaction through the fence or through oidc-provider itself.
  server.on('request', (req, res) => {
    const via = new URL(req.url!, issuer).searchParams.get('via');
    if (!via) return void callback(req, res);
    void (async () => {
      const result = JSON.parse(new URL(req.url!, issuer).searchParams.get('result')!);
      const returnTo =
        via === 'fence'
          ? await saveInteractionResult(await provider.interactionDetails(req, res), result)
          : await provider.interactionResult(req, res, result);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ returnTo }));
    })();
  });
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

/** Starts an authorization: the interaction oidc-provider made, as the fence read it, and the browser's cookies. */
async function startAuthorization(): Promise<{ response: Response; step: LoginStepRedirect | undefined; cookies: string }> {
  seen.length = 0;
  const query = new URLSearchParams({
    client_id: CLIENT.client_id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: CLIENT.redirect_uris[0]!,
    state: 's',
  });
  const response = await fetch(`${issuer}/auth?${query.toString()}`, { redirect: 'manual' });
  const cookies = response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
  return { response, step: seen[0], cookies };
}

/** Ends a new interaction with `result`, `via` the fence or oidc-provider: where the browser goes, what was stored. */
async function endInteraction(via: 'fence' | 'provider', result: object): Promise<{ returnTo: string; stored: unknown }> {
  const { step, cookies } = await startAuthorization();
  const query = new URLSearchParams({ via, result: JSON.stringify(result) });
  const response = await fetch(`${issuer}${interactionPath(step!.uid)}/end?${query.toString()}`, { headers: { cookie: cookies } });
  const { returnTo } = (await response.json()) as { returnTo: string };
  const stored = (await provider.Interaction.find(step!.uid))!;
  return { returnTo: returnTo.replace(step!.uid, '<uid>'), stored: { result: stored.result, lifetime: stored.exp - stored.iat } };
}

describe('oidc-provider, as src/oidc/internals.ts relies on it', () => {
  it('answers an authorization that needs the login step with 303 to the interaction, kept as ctx.oidc.entities.Interaction', async () => {
    const { response, step } = await startAuthorization();
    expect(response.status).toBe(303);
    expect(step).toEqual({ uid: expect.any(String), prompt: 'login', clientId: CLIENT.client_id });
    expect(response.headers.get('location')).toBe(interactionPath(step!.uid));
  });

  it('signs cookies with its cookies.keys, exposed as provider.keys', () => {
    expect(provider.keys).toEqual(COOKIE_KEYS);
  });

  it('resumes at /auth/:uid for a request carrying the resume cookie made by resumeCookies, and only for it', async () => {
    const { step } = await startAuthorization();
    const interaction = (await provider.Interaction.find(step!.uid))!;
    interaction.result = { login: { accountId: 'contract-account' } };
    await interaction.save(60);

    const forged = resumeCookies(provider, step!.uid).map((cookie) =>
      cookie.includes('.sig=') ? `${cookie.split('=')[0]}=${createHash('sha1').update(randomBytes(8)).digest('base64url')}` : cookie,
    );
    const refused = await fetch(`${issuer}/auth/${step!.uid}`, { redirect: 'manual', headers: { cookie: forged.join('; ') } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/expired/) });

    const resumed = await fetch(`${issuer}/auth/${step!.uid}`, {
      redirect: 'manual',
      headers: { cookie: resumeCookies(provider, step!.uid).join('; ') },
    });
    // Past the login step: on to consent, a new interaction of the same authorization.
    expect(resumed.status).toBe(303);
    expect(resumed.headers.get('location')).toMatch(/^\/interaction\//);
  });

  it('stores an interaction result through saveInteractionResult as interactionResult does', async () => {
    for (const result of [{ login: { accountId: 'contract-account' } }, { error: 'access_denied', error_description: 'no' }]) {
      const fence = await endInteraction('fence', result);
      const upstream = await endInteraction('provider', result);
      expect(fence.returnTo).toBe(`${issuer}/auth/<uid>`);
      expect({ returnTo: fence.returnTo, stored: fence.stored }).toEqual({ returnTo: upstream.returnTo, stored: upstream.stored });
    }
  });

  it('answers invalid_grant when the adapter refuses to spend a code (a second use at the same moment)', async () => {
    const grant = new provider.Grant({ accountId: 'contract-account', clientId: CLIENT.client_id });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const client = await provider.Client.find(CLIENT.client_id);
    const code = new provider.AuthorizationCode({
      accountId: 'contract-account',
      grantId,
      client: client!,
      scope: 'openid',
      redirectUri: CLIENT.redirect_uris[0]!,
      gty: 'authorization_code',
    });
    const value = await code.save();
    MapAdapter.refuseConsume = true;
    try {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: value, redirect_uri: CLIENT.redirect_uris[0]! }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    } finally {
      MapAdapter.refuseConsume = false;
    }
  });

  it('sends a signed logout token for (sub, sid) through sendLogoutToken, and says when a client has nowhere to send it', async () => {
    received.length = 0;
    expect(await sendLogoutToken(provider, 'contract-logout-app', 'contract-account', 'contract-sid')).toBe(true);
    expect(received).toHaveLength(1);
    expect(received[0]!.contentType).toBe('application/x-www-form-urlencoded');
    const token = new URLSearchParams(received[0]!.body).get('logout_token')!;
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
      issuer,
      audience: 'contract-logout-app',
      typ: 'logout+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: 'contract-account',
      sid: 'contract-sid',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      jti: expect.any(String),
      iat: expect.any(Number),
    });
    expect(payload.nonce).toBeUndefined();

    // An app that does not answer 200 or 204: the send fails, so it can be tried again.
    receiverStatus = 500;
    try {
      await expect(sendLogoutToken(provider, 'contract-logout-app', 'contract-account', 'contract-sid')).rejects.toThrow(/500/);
    } finally {
      receiverStatus = 200;
    }
    expect(await sendLogoutToken(provider, CLIENT.client_id, 'contract-account')).toBe(false);
    expect(await sendLogoutToken(provider, 'no-such-app', 'contract-account')).toBe(false);
  });

  it('keeps an ID token signed through signIdToken to the claims of its scope', async () => {
    const ask = async (scope: string) => {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${GRANT_CLIENT.client_id}:${GRANT_CLIENT.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: ID_TOKEN_GRANT, scope }),
      });
      const { id_token } = (await response.json()) as { id_token: string };
      return (await jwtVerify(id_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: GRANT_CLIENT.client_id }))
        .payload;
    };
    const openid = await ask('openid');
    expect(openid).toMatchObject({ sub: 'contract-account', auth_time: 1234 });
    expect(openid).not.toHaveProperty('nickname');
    expect(openid).not.toHaveProperty('email');
    expect(await ask('openid profile')).toMatchObject({ sub: 'contract-account', nickname: 'Contract 🐼' });
  });

  it('refuses a grant type the client is not registered for in the words isGrantTypeRefusal knows', async () => {
    tokenAnswers.length = 0;
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: ID_TOKEN_GRANT, scope: 'openid' }),
    });
    expect(response.status).toBe(400);
    expect(tokenAnswers).toEqual([true]);
  });
});
