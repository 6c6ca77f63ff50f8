import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { createIdentityProvider, type IdentityProvider } from '../../src/server.js';
import { testDatabaseUrl } from './database.js';
import type { Logger } from '../../src/log.js';

export const WEB_APP_SECRET = 'web-app-secret-0123456789abcdef0123';
export const TEST_APP = { appId: 'wx1234567890abcdef', appSecret: 'test-app-secret-9f8e7d6c5b4a' };
export const CLIENTS_FILE = fileURLToPath(new URL('../fixtures/clients.json', import.meta.url));

export interface RunningProvider {
  issuer: string;
  idp: IdentityProvider;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts the whole service on a free loopback port with a fresh database, configured the way
 * an operator would: through environment variables only.
 */
export async function startProvider(
  env: Record<string, string | undefined> = {},
  options: { logger?: Logger; databaseUrl?: string } = {},
): Promise<RunningProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  // A database given by the caller is shared (several instances) and stays the caller's to drop.
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => {} } : await testDatabaseUrl();
  const config = await loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: String(port),
    ISSUER: issuer,
    DATABASE_URL: database.url,
    CLIENTS_FILE,
    TEST_WEB_APP_SECRET: WEB_APP_SECRET,
    WECHAT_APP_ID: TEST_APP.appId,
    WECHAT_APP_SECRET: TEST_APP.appSecret,
    COOKIE_KEYS: 'test-cookie-key-0123456789abcdef0123456789',
    ...env,
  });
  let idp: IdentityProvider;
  try {
    idp = await createIdentityProvider(config, options.logger);
  } catch (error) {
    // A failed start must not leave a listening socket behind (jest would wait for it).
    server.close();
    await database.drop();
    throw error;
  }
  server.on('request', idp.koa.callback());
  return {
    issuer,
    idp,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
      await database.drop();
    },
  };
}
