import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadConfig } from '../src/config/index.js';
import { createIdentityProvider } from '../src/server.js';
import { Browser } from './helpers/browser.js';
import { CLIENTS_FILE, TEST_APP, WEB_APP_SECRET } from './helpers/provider.js';
import { relyingParty } from './helpers/relying-party.js';
import { testDatabaseUrl } from './helpers/database.js';
import { newWeChatUser, wechatNewUser } from './helpers/wechat.js';
import { signIn } from './helpers/sign-in.js';
import { createServer, type Server } from 'node:http';
import { freePort } from '../bench/target.js';

// One database, one port, two lives of the service: what was issued before a restart must
// still work after it (signing keys and provider state live in the database, not in memory).
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;
let port: number;

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  database = await testDatabaseUrl();
  port = await freePort();
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  await database.drop();
  nock.enableNetConnect();
});

async function boot(): Promise<{ issuer: string; stop(): Promise<void> }> {
  const issuer = `http://127.0.0.1:${port}`;
  const config = await loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    ISSUER: issuer,
    DATABASE_URL: database.url,
    CLIENTS_FILE,
    TEST_WEB_APP_SECRET: WEB_APP_SECRET,
    WECHAT_APP_ID: TEST_APP.appId,
    WECHAT_APP_SECRET: TEST_APP.appSecret,
    COOKIE_KEYS: 'restart-cookie-key-0123456789abcdef0123456789',
  });
  const idp = await createIdentityProvider(config);
  const server: Server = createServer(idp.koa.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await idp.close();
    },
  };
}

describe('after a restart', () => {
  it('still verifies ID tokens, honours refresh tokens and userinfo, and keeps the account', async () => {
    const first = await boot();
    const rp = await relyingParty(first.issuer);
    const user = newWeChatUser();
    wechatNewUser('restart-1', user);
    const { tokens, claims } = await signIn(new Browser(), first.issuer, rp, 'restart-1');
    await first.stop();

    const second = await boot();
    try {
      const jwks = createRemoteJWKSet(new URL(`${second.issuer}/jwks`));
      const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: second.issuer, audience: 'web-app' });
      expect(payload.sub).toBe(claims.sub);

      const rpAgain = await relyingParty(second.issuer);
      const info = await oidc.fetchUserInfo(rpAgain.config, tokens.access_token, claims.sub);
      expect(info.openid).toBe(user.openid);
      const refreshed = await oidc.refreshTokenGrant(rpAgain.config, tokens.refresh_token!);
      expect(refreshed.claims()?.sub).toBe(claims.sub);
    } finally {
      await second.stop();
    }
  });
});
