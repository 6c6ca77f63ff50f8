import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from '@jest/globals';
import { readSettings } from '../src/config/env.js';
import { createKnex } from '../src/db/knex.js';

interface SqlitePragmas {
  pragma(p: string, o: { simple: true }): unknown;
}
import { readClients } from '../src/config/clients.js';
import { ConfigError, loadConfig } from '../src/config/index.js';

const SECRET = 'Sup3r-Secret-Value-That-Must-Not-Leak-0123456789';
const KEY = 'k'.repeat(32);
const PRODUCTION = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.com',
  COOKIE_KEYS: KEY,
  WECHAT_APP_ID: 'wx0123456789abcdef',
  WECHAT_APP_SECRET: SECRET,
};

/** The ConfigError thrown by `fn` (sync or async); fails the test if none is thrown. */
async function configError(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).name).toBe('ConfigError');
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function clientsFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'idp-config-'));
  const file = join(dir, 'clients.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const shop = (extra: Record<string, unknown> = {}) => ({
  client_id: 'shop',
  client_secret: SECRET,
  redirect_uris: ['https://shop.example.com/cb'],
  ...extra,
});

describe('settings from the environment', () => {
  it('defaults to a development sandbox on localhost:3000', () => {
    const s = readSettings({});
    expect(s).toMatchObject({
      nodeEnv: 'development',
      production: false,
      port: 3000,
      issuer: 'http://localhost:3000',
      databaseUrl: 'sqlite:data/idp.sqlite3',
      clientsFile: 'config/clients.json',
      wechat: undefined,
      wechatWeb: undefined,
      sandbox: true,
      trustProxy: false,
      // The sandbox answers under this server until real WeChat credentials are given.
      wechatOpenOrigin: 'http://localhost:3000/sandbox',
      wechatApiOrigin: 'http://localhost:3000/sandbox',
      cookieKeysGenerated: true,
    });
    expect(s.cookieKeys).toHaveLength(1);
    expect(Buffer.from(s.cookieKeys[0]!, 'base64url')).toHaveLength(32);
  });

  it('makes SQLite commits durable (synchronous FULL) unless the operator chooses NORMAL', async () => {
    expect(readSettings({}).sqliteSynchronous).toBe('FULL');
    expect(readSettings({ SQLITE_SYNCHRONOUS: 'NORMAL' }).sqliteSynchronous).toBe('NORMAL');
    expect((await configError(() => readSettings({ SQLITE_SYNCHRONOUS: 'OFF' }))).problems).toEqual([
      expect.stringMatching(/^SQLITE_SYNCHRONOUS: must be FULL or NORMAL/),
    ]);
    // What the connection then runs with: 2 is FULL, 1 NORMAL.
    for (const [choice, level] of [
      ['FULL', 2],
      ['NORMAL', 1],
    ] as const) {
      const db = createKnex('sqlite::memory:', undefined, { sqliteSynchronous: choice });
      try {
        const pool = db.client as { acquireConnection(): Promise<SqlitePragmas>; releaseConnection(c: SqlitePragmas): Promise<void> };
        const conn = await pool.acquireConnection();
        expect(conn.pragma('synchronous', { simple: true })).toBe(level);
        await pool.releaseConnection(conn);
      } finally {
        await db.destroy();
      }
    }
  });

  it('serves metrics apart from the public port, on loopback unless told', async () => {
    expect(readSettings({})).toMatchObject({ port: 3000, metricsPort: 9464, metricsHost: '127.0.0.1' });
    expect(readSettings({ METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 0, metricsHost: '0.0.0.0' });
    expect((await configError(() => readSettings({ PORT: '9464' }))).problems).toEqual([
      expect.stringMatching(/^METRICS_PORT: must differ from PORT/),
    ]);
    expect((await configError(() => readSettings({ METRICS_PORT: 'x' }))).problems).toEqual([
      expect.stringMatching(/^METRICS_PORT: must be an integer/),
    ]);
  });

  it('never runs the sandbox or the demo app on an https issuer, whatever NODE_ENV says', async () => {
    // NODE_ENV unset (development) on a real address: without WeChat credentials it would
    // have let anyone sign in as any sandbox user.
    const error = await configError(() => readSettings({ ISSUER: 'https://id.example.com' }));
    expect(error.problems).toEqual([expect.stringMatching(/^WECHAT_APP_ID, WECHAT_APP_SECRET: are required when ISSUER is https/)]);
    expect(readSettings({ ISSUER: 'https://id.example.com', WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's1' })).toMatchObject({
      sandbox: false,
      demo: false,
    });
    expect(readSettings({})).toMatchObject({ sandbox: true, demo: true });
  });

  it('talks to the real WeChat once its credentials are set', () => {
    const s = readSettings({ WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's1' });
    expect(s).toMatchObject({
      sandbox: false,
      wechatOpenOrigin: 'https://open.weixin.qq.com',
      wechatApiOrigin: 'https://api.weixin.qq.com',
    });
  });

  it('treats empty strings as unset and derives the issuer from PORT', () => {
    const s = readSettings({ PORT: '8080', ISSUER: '', NODE_ENV: '', TRUST_PROXY: 'true' });
    expect(s).toMatchObject({ port: 8080, issuer: 'http://localhost:8080', trustProxy: true });
  });

  it('splits COOKIE_KEYS and takes both WeChat apps', () => {
    const s = readSettings({
      COOKIE_KEYS: 'a, b',
      WECHAT_APP_ID: 'wx1',
      WECHAT_APP_SECRET: 's1',
      WECHAT_WEB_APP_ID: 'wx2',
      WECHAT_WEB_APP_SECRET: 's2',
    });
    expect(s).toMatchObject({
      cookieKeys: ['a', 'b'],
      cookieKeysGenerated: false,
      sandbox: false,
      wechat: { appId: 'wx1', appSecret: 's1' },
      wechatWeb: { appId: 'wx2', appSecret: 's2' },
    });
  });

  it('keeps silent sign-in off unless WECHAT_SILENT_LOGIN turns it on, and refuses other values by name', async () => {
    expect(readSettings({}).silentLogin).toBe(false);
    expect(readSettings({ WECHAT_SILENT_LOGIN: 'TRUE' }).silentLogin).toBe(true);
    expect(readSettings({ WECHAT_SILENT_LOGIN: '0' }).silentLogin).toBe(false);
    expect((await configError(() => readSettings({ WECHAT_SILENT_LOGIN: 'yes' }))).message).toMatch(
      /^WECHAT_SILENT_LOGIN: must be 1, true, 0 or false/,
    );
  });

  it.each(['abc', '0', '65536', '3000.5'])('refuses PORT=%s naming PORT', async (port) => {
    expect((await configError(() => readSettings({ PORT: port }))).message).toMatch(/^PORT: /);
  });

  it('refuses a bad ISSUER, DATABASE_URL and NODE_ENV in one message', async () => {
    const error = await configError(() =>
      readSettings({
        ISSUER: 'http://id.example.com/',
        DATABASE_URL: 'mysql://x',
        NODE_ENV: 'staging',
      }),
    );
    expect(error.problems).toHaveLength(3);
    expect(error.message).toMatch(/^ISSUER: .*slash/m);
    expect(error.message).toMatch(/^DATABASE_URL: /m);
    expect(error.message).toMatch(/^NODE_ENV: /m);
  });

  it('refuses an ISSUER with a path, which the provider cannot serve', async () => {
    expect((await configError(() => readSettings({ ISSUER: 'https://id.example.com/idp' }))).message).toMatch(
      /^ISSUER: must not have a path/,
    );
  });

  it('listens on loopback only while the sandbox plays WeChat, unless HOST says otherwise', async () => {
    expect(readSettings({}).host).toBe('127.0.0.1');
    expect(readSettings({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(readSettings({ WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's1' }).host).toBeUndefined();
    expect(readSettings(PRODUCTION).host).toBeUndefined();
    expect(readSettings({ ...PRODUCTION, HOST: '::' }).host).toBe('::');
    expect((await configError(() => readSettings({ HOST: 'http://0.0.0.0' }))).message).toMatch(/^HOST: /);
  });

  it('waits DATABASE_WAIT_SECONDS for the database, 15 by default', async () => {
    expect(readSettings({}).databaseWaitSeconds).toBe(15);
    expect(readSettings({ DATABASE_WAIT_SECONDS: '0' }).databaseWaitSeconds).toBe(0);
    expect((await configError(() => readSettings({ DATABASE_WAIT_SECONDS: '-1' }))).message).toMatch(
      /^DATABASE_WAIT_SECONDS: must be a whole number of seconds/,
    );
  });

  it('refuses an SQLite path whose directory does not exist, naming DATABASE_URL', async () => {
    const missing = join(tmpdir(), 'no-such-dir-idp', 'idp.sqlite3');
    expect((await configError(() => readSettings({ DATABASE_URL: `sqlite:${missing}` }))).message).toBe(
      `DATABASE_URL: the directory ${join(tmpdir(), 'no-such-dir-idp')} does not exist (create it, or fix the path)`,
    );
    // The default's data/ directory is the service's own to create.
    expect(readSettings({}).databaseUrl).toBe('sqlite:data/idp.sqlite3');
  });

  it('names the missing half of a WeChat pair', async () => {
    expect((await configError(() => readSettings({ WECHAT_APP_ID: 'wx1' }))).message).toMatch(/^WECHAT_APP_SECRET: /);
    expect((await configError(() => readSettings({ WECHAT_WEB_APP_SECRET: SECRET }))).message).toMatch(/^WECHAT_WEB_APP_ID: /);
    expect((await configError(() => readSettings({ WECHAT_MINI_APP_ID: 'wxmini' }))).message).toMatch(/^WECHAT_MINI_APP_SECRET: /);
    expect((await configError(() => readSettings({ WECHAT_MOBILE_APP_SECRET: SECRET }))).message).toMatch(/^WECHAT_MOBILE_APP_ID: /);
  });

  describe('in production', () => {
    it('accepts a complete configuration', () => {
      expect(readSettings(PRODUCTION)).toMatchObject({ production: true, sandbox: false });
    });

    it('refuses an http ISSUER', async () => {
      const error = await configError(() => readSettings({ ...PRODUCTION, ISSUER: 'http://id.example.com' }));
      expect(error.message).toMatch(/^ISSUER: .*https/);
    });

    it('refuses a missing ISSUER rather than defaulting to localhost', async () => {
      const error = await configError(() => readSettings({ ...PRODUCTION, ISSUER: undefined }));
      expect(error.message).toMatch(/^ISSUER: /);
    });

    it('requires COOKIE_KEYS, each long enough', async () => {
      expect((await configError(() => readSettings({ ...PRODUCTION, COOKIE_KEYS: '' }))).message).toMatch(/^COOKIE_KEYS: .*required/);
      expect((await configError(() => readSettings({ ...PRODUCTION, COOKIE_KEYS: `${KEY},short` }))).message).toMatch(/^COOKIE_KEYS: .*32/);
    });

    it('refuses the sandbox', async () => {
      const error = await configError(() => readSettings({ ...PRODUCTION, WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined }));
      expect(error.message).toMatch(/WECHAT_APP_ID/);
      expect(error.message).toMatch(/sandbox/);
    });

    it('never quotes a secret', async () => {
      const error = await configError(() => readSettings({ ...PRODUCTION, WECHAT_APP_ID: undefined, COOKIE_KEYS: 'short-cookie-key' }));
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('short-cookie-key');
    });
  });
});

describe('clients file', () => {
  it('takes the example file as it ships, production rules included', async () => {
    const example = new URL('../config/clients.example.json', import.meta.url).pathname;
    const secrets = { SHOP_CLIENT_SECRET: 's'.repeat(40), FORUM_CLIENT_SECRET: 'f'.repeat(40) };
    const clients = await readClients(example, secrets, { production: true });
    expect(clients.map((client) => client.client_id)).toEqual(['shop', 'partner-forum']);
    expect(clients[0]!.backchannel_logout_uri).toBe('https://shop.example.com/auth/backchannel-logout');
  });

  const dev = { production: false };

  it('names CLIENTS_FILE and the path when the file is missing', async () => {
    const path = join(tmpdir(), 'no-such-dir-idp', 'clients.json');
    const error = await configError(() => readClients(path, {}, dev));
    expect(error.message).toContain(`CLIENTS_FILE ${path}`);
  });

  it('names the file on bad JSON without quoting its content', async () => {
    const file = await clientsFile(`[{"client_id": "shop", "client_secret": "${SECRET}" "x": 1}]`);
    const error = await configError(() => readClients(file, {}, dev));
    expect(error.message).toMatch(new RegExp(`^CLIENTS_FILE ${file}: invalid JSON`));
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses a file that is not an array', async () => {
    const file = await clientsFile({ clients: [] });
    expect((await configError(() => readClients(file, {}, dev))).message).toMatch(/array/);
  });

  it('names the client and the field when redirect_uris is missing', async () => {
    const file = await clientsFile([shop({ redirect_uris: undefined })]);
    expect((await configError(() => readClients(file, {}, dev))).message).toBe(
      `CLIENTS_FILE ${file}: client "shop" field redirect_uris: is required, with at least one URI (the client uses authorization_code)`,
    );
  });

  it('takes a mini-program client with no redirect URIs and no secret, tied to its WeChat app', async () => {
    const mini = {
      client_id: 'mini',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange', 'refresh_token'],
      wechat_app_ids: ['wxmini'],
    };
    const [client] = await readClients(await clientsFile([mini]), {}, { production: true });
    // oidc-provider is told the client has no authorization endpoint to use.
    expect(client).toMatchObject({ ...mini, response_types: [], redirect_uris: [] });
  });

  it('names a grant type it does not offer, an empty wechat_app_ids, and response types without the code flow', async () => {
    const file = await clientsFile([
      shop({ grant_types: ['authorization_code', 'password'] }),
      {
        client_id: 'mini',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
        wechat_app_ids: [],
        response_types: ['code'],
      },
    ]);
    const error = await configError(() => readClients(file, {}, dev));
    expect(error.problems).toEqual([
      expect.stringMatching(
        /client "shop" field grant_types\[1\]: may hold only authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange/,
      ),
      expect.stringMatching(/client "mini" field wechat_app_ids: must list at least one WeChat app id/),
      expect.stringMatching(/client "mini" field response_types: /),
    ]);
  });

  it('names redirect_uris[0] on a bad URL, and the index when client_id is missing', async () => {
    const file = await clientsFile([
      shop({ redirect_uris: ['/relative'] }),
      { redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'none' },
    ]);
    const error = await configError(() => readClients(file, {}, dev));
    expect(error.problems[0]).toMatch(new RegExp(`^CLIENTS_FILE ${file}: client "shop" field redirect_uris\\[0\\]: Invalid URL`));
    expect(error.problems[1]).toMatch(/client "#1" field client_id: is required/);
  });

  it('refuses a duplicate client_id', async () => {
    const file = await clientsFile([shop(), shop()]);
    expect((await configError(() => readClients(file, {}, dev))).message).toMatch(/client "shop" field client_id: duplicate/);
  });

  it('refuses an unknown grant type, implicit responses and a missing secret', async () => {
    const file = await clientsFile([
      shop({ grant_types: ['authorization_code', 'client_credentials'] }),
      shop({ client_id: 'b', response_types: ['id_token'] }),
      shop({ client_id: 'c', client_secret: undefined }),
    ]);
    const error = await configError(() => readClients(file, {}, dev));
    expect(error.problems).toEqual([
      expect.stringMatching(/client "shop" field grant_types\[1\]: /),
      expect.stringMatching(/client "b" field response_types: /),
      expect.stringMatching(/client "c" field client_secret: is required/),
    ]);
  });

  it('fills a client_secret from a variable, and ${ISSUER} anywhere', async () => {
    const file = await clientsFile([shop({ client_secret: '${SHOP_SECRET}', redirect_uris: ['${ISSUER}/shop/cb'], skip_consent: true })]);
    const [client] = await readClients(file, { SHOP_SECRET: SECRET, ISSUER: 'https://id.example.com' }, dev);
    expect(client).toEqual({
      client_id: 'shop',
      client_secret: SECRET,
      redirect_uris: ['https://id.example.com/shop/cb'],
      skip_consent: true,
    });
  });

  it('never lets a variable into a public field, nor a setting of the service into a secret', async () => {
    // The attack: an edited clients file that publishes COOKIE_KEYS as the app's name on the
    // consent page, or makes the service's own secret an app's shared secret.
    const file = await clientsFile([
      shop({ client_secret: '${WECHAT_APP_SECRET}', client_name: 'Shop ${COOKIE_KEYS}', contacts: ['ops@${MAIL_DOMAIN}'] }),
    ]);
    const vars = { WECHAT_APP_SECRET: 'wechat-secret-value', COOKIE_KEYS: 'cookie-key-value', MAIL_DOMAIN: 'shop.example.com' };
    const error = await configError(() => readClients(file, vars, dev));
    expect(error.problems).toEqual([
      expect.stringMatching(/client "shop" field client_secret: \$\{WECHAT_APP_SECRET\}: is a setting of the service itself/),
      expect.stringMatching(/client "shop" field client_name: \$\{COOKIE_KEYS\}: only client_secret may take a variable/),
      expect.stringMatching(/client "shop" field contacts\[0\]: \$\{MAIL_DOMAIN\}: only client_secret may take a variable/),
    ]);
    expect(error.message).not.toMatch(/wechat-secret-value|cookie-key-value/);
  });

  it('refuses unknown fields, with the field it most likely meant', async () => {
    const file = await clientsFile([
      shop({
        skip_consnet: true,
        post_logout_redirect_uri: 'https://shop.example.com/',
        colour_scheme: 'dark',
      }),
    ]);
    const error = await configError(() => readClients(file, {}, dev));
    expect(error.problems).toEqual([
      `CLIENTS_FILE ${file}: client "shop" field skip_consnet: unknown field (did you mean skip_consent?)`,
      `CLIENTS_FILE ${file}: client "shop" field post_logout_redirect_uri: unknown field (did you mean post_logout_redirect_uris?)`,
      `CLIENTS_FILE ${file}: client "shop" field colour_scheme: unknown field`,
    ]);
  });

  it('names a missing ${VAR} with the client and field', async () => {
    const file = await clientsFile([shop({ client_secret: '${SHOP_SECRET}' })]);
    expect((await configError(() => readClients(file, {}, dev))).message).toBe(
      `CLIENTS_FILE ${file}: client "shop" field client_secret: variable SHOP_SECRET is not set`,
    );
  });

  it('never puts a secret value in an error message', async () => {
    const file = await clientsFile([
      shop({ client_secret: '${SHOP_SECRET}', redirect_uris: ['nope'] }),
      shop({ client_id: 'weak', client_secret: 'weak-but-secret', redirect_uris: ['http://x.example'] }),
      shop({ client_id: 'typed', client_secret: 42 }),
    ]);
    const error = await configError(() => readClients(file, { SHOP_SECRET: SECRET }, { production: true }));
    expect(error.problems.length).toBeGreaterThanOrEqual(3);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('weak-but-secret');
  });

  it('refuses http redirects and logout URIs in production, localhost included', async () => {
    const file = await clientsFile([
      shop({
        redirect_uris: ['http://localhost:3000/cb'],
        post_logout_redirect_uris: ['https://shop.example.com/', 'http://shop.example.com/'],
        backchannel_logout_uri: 'http://shop.internal/logout',
      }),
    ]);
    const error = await configError(() => readClients(file, {}, { production: true }));
    expect(error.problems).toEqual([
      expect.stringMatching(/client "shop" field redirect_uris\[0\]: .*https/),
      expect.stringMatching(/client "shop" field post_logout_redirect_uris\[1\]: .*https/),
      expect.stringMatching(/client "shop" field backchannel_logout_uri: .*https/),
    ]);
    await expect(readClients(file, {}, dev)).resolves.toHaveLength(1);
  });

  it('refuses the shipped demo client in production, where the demo app is off', async () => {
    const file = await clientsFile([
      shop(),
      { client_id: 'demo', token_endpoint_auth_method: 'none', redirect_uris: ['https://id.example.com/demo/callback'] },
    ]);
    const error = await configError(() => readClients(file, {}, { production: true }));
    expect(error.problems).toEqual([expect.stringMatching(/client "demo" field client_id: is the shipped demo app/)]);
    await expect(readClients(file, {}, dev)).resolves.toHaveLength(2);
  });

  it('refuses a file without clients in production only', async () => {
    const file = await clientsFile([]);
    expect((await configError(() => readClients(file, {}, { production: true }))).message).toBe(
      `CLIENTS_FILE ${file}: lists no clients; register at least one relying party (see config/clients.example.json)`,
    );
    await expect(readClients(file, {}, dev)).resolves.toEqual([]);
  });
});

describe('loadConfig', () => {
  it('loads the shipped clients file with the default issuer', async () => {
    const { settings, clients } = await loadConfig({ PORT: '4000' });
    expect(settings.issuer).toBe('http://localhost:4000');
    expect(clients).toEqual([
      expect.objectContaining({
        client_id: 'demo',
        redirect_uris: ['http://localhost:4000/demo/callback'],
      }),
    ]);
  });
});
