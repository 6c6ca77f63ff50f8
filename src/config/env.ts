import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { databaseTarget, sqliteDirectoryProblem } from '../db/target.js';
import { ConfigError } from './errors.js';

export interface WeChatAppSettings {
  appId: string;
  appSecret: string;
}

export interface Settings {
  nodeEnv: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  /** Listen address; undefined → every interface. */
  host: string | undefined;
  /** Where /metrics is served, apart from the public port: loopback unless told. */
  metricsPort: number;
  metricsHost: string;
  /** SQLite only: how a commit is made durable (see db/knex.ts). */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Absolute http(s) URL without path, trailing slash, query or fragment. */
  issuer: string;
  databaseUrl: string;
  /** How long the start retries a database it cannot reach before giving up, in seconds. */
  databaseWaitSeconds: number;
  clientsFile: string;
  /** Official Account; undefined → the sandbox stands in for WeChat (never in production). */
  wechat: WeChatAppSettings | undefined;
  /** Open Platform website app; undefined → no QR login. */
  wechatWeb: WeChatAppSettings | undefined;
  /** Mini-program whose `wx.login` codes may be exchanged at /token; undefined → none (the sandbox's in development). */
  wechatMini: WeChatAppSettings | undefined;
  /** Open Platform mobile app whose SDK codes may be exchanged at /token; undefined → none (the sandbox's in development). */
  wechatMobile: WeChatAppSettings | undefined;
  sandbox: boolean;
  /** The demo relying party at /demo: development on an http issuer only. */
  demo: boolean;
  wechatOpenOrigin: string;
  wechatApiOrigin: string;
  cookieKeys: string[];
  /** True when no COOKIE_KEYS were given and a throw-away key was made (sessions die on restart). */
  cookieKeysGenerated: boolean;
  trustProxy: boolean;
  /** Inside WeChat, try `snsapi_base` first: known people sign in without WeChat's prompt. */
  silentLogin: boolean;
  logLevel: LogLevel;
  /** Pushed authorization requests (`/request`), for clients authenticating with HTTP Basic only. */
  pushedAuthorizationRequests: boolean;
  /** Requests per minute to the limited endpoints, per address and per client; 0 = no limit. */
  rateLimits: { perAddress: number; perClient: number };
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const DEFAULT_DATABASE_URL = 'sqlite:data/idp.sqlite3';

/** Production floor for each cookie key: 32 characters, about 192 bits even as base64. */
const MIN_COOKIE_KEY_LENGTH = 32;

// Deployments often template env files, leaving `FOO=` behind: blank means "not set".
const unset = (value: unknown) => (typeof value === 'string' ? value.trim() || undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(unset, schema.optional());

/** Why `value` is not usable as a base URL (issuer, WeChat origins), or undefined if it is. */
function baseUrlProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  // Paths are built by appending to these, and the issuer is compared as an exact string.
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return 'must not have a query or fragment';
  }
  if (value.endsWith('/')) return 'must not end with a slash';
  return undefined;
}

const baseUrl = z.string().superRefine((value, ctx) => {
  const problem = baseUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// The provider's pages, the login step and WeChat's callback all live at the root of the
// issuer's host; an issuer with a path would publish endpoints that answer nowhere.
const issuerUrl = baseUrl.refine(
  (value) => !URL.canParse(value) || new URL(value).pathname === '/',
  'must not have a path: serve the provider at the root of its own host name (https://id.example.com)',
);

/** A host name or an IP address to listen on. */
const listenHost = z
  .string()
  .refine(
    (v) => isIP(v) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(v),
    'must be an IP address (127.0.0.1, 0.0.0.0, ::) or a host name',
  );

/** A whole number of seconds within bounds. */
const seconds = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number of seconds from 0 to ${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `must be a whole number of seconds from 0 to ${max}`));

/** A count of requests per minute, 0 meaning no limit. */
const perMinute = z
  .string()
  .regex(/^\d+$/, 'must be a whole number of requests per minute (0 turns the limit off)')
  .transform(Number)
  .pipe(z.number().max(1_000_000, 'must be at most 1000000 requests per minute (0 turns the limit off)'));

/** An on/off setting. */
const flag = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['1', 'true', '0', 'false'], 'must be 1, true, 0 or false'));

/** Where Prometheus exporters of Node.js services commonly listen. */
const DEFAULT_METRICS_PORT = 9464;

const EnvSchema = z.object({
  NODE_ENV: optional(z.enum(['development', 'production', 'test'])),
  PORT: optional(
    z
      .string()
      .regex(/^\d+$/, 'must be an integer from 1 to 65535')
      .transform(Number)
      .pipe(z.number().int().min(1, 'must be an integer from 1 to 65535').max(65535, 'must be an integer from 1 to 65535')),
  ),
  HOST: optional(listenHost),
  METRICS_PORT: optional(
    z
      .string()
      .regex(/^\d+$/, 'must be an integer from 0 (any free port) to 65535')
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(0, 'must be an integer from 0 (any free port) to 65535')
          .max(65535, 'must be an integer from 0 (any free port) to 65535'),
      ),
  ),
  METRICS_HOST: optional(listenHost),
  SQLITE_SYNCHRONOUS: optional(z.enum(['FULL', 'NORMAL'], 'must be FULL or NORMAL')),
  ISSUER: optional(issuerUrl),
  DATABASE_URL: optional(
    z.string().refine((v) => /^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(v), 'must start with sqlite:, postgres:// or postgresql://'),
  ),
  DATABASE_WAIT_SECONDS: optional(seconds(600)),
  CLIENTS_FILE: optional(z.string()),
  WECHAT_APP_ID: optional(z.string()),
  WECHAT_APP_SECRET: optional(z.string()),
  WECHAT_WEB_APP_ID: optional(z.string()),
  WECHAT_WEB_APP_SECRET: optional(z.string()),
  WECHAT_MINI_APP_ID: optional(z.string()),
  WECHAT_MINI_APP_SECRET: optional(z.string()),
  WECHAT_MOBILE_APP_ID: optional(z.string()),
  WECHAT_MOBILE_APP_SECRET: optional(z.string()),
  WECHAT_OPEN_ORIGIN: optional(baseUrl),
  WECHAT_API_ORIGIN: optional(baseUrl),
  COOKIE_KEYS: optional(
    z
      .string()
      .transform((v) => v.split(',').map((key) => key.trim()))
      .refine((keys) => keys.every(Boolean), 'every comma-separated key must be non-empty'),
  ),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  TRUST_PROXY: optional(flag),
  PUSHED_AUTHORIZATION_REQUESTS: optional(flag),
  RATE_LIMIT_PER_ADDRESS: optional(perMinute),
  RATE_LIMIT_PER_CLIENT: optional(perMinute),
  WECHAT_SILENT_LOGIN: optional(flag),
});

/** The service's own settings, by name: never a client's secret (see clients.ts). */
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

type Env = z.output<typeof EnvSchema>;

/** Both halves of a credential pair or neither; a lone half is a typo, not a choice. */
function appPair(
  env: Env,
  idName: 'WECHAT_APP_ID' | 'WECHAT_WEB_APP_ID' | 'WECHAT_MINI_APP_ID' | 'WECHAT_MOBILE_APP_ID',
  secretName: 'WECHAT_APP_SECRET' | 'WECHAT_WEB_APP_SECRET' | 'WECHAT_MINI_APP_SECRET' | 'WECHAT_MOBILE_APP_SECRET',
  problems: string[],
): WeChatAppSettings | undefined {
  const appId = env[idName];
  const appSecret = env[secretName];
  if (appId && appSecret) return { appId, appSecret };
  if (appId) problems.push(`${secretName}: is required when ${idName} is set`);
  if (appSecret) problems.push(`${idName}: is required when ${secretName} is set`);
  return undefined;
}

/**
 * Reads and checks every setting at once, so a bad deployment learns all its mistakes in one
 * start. Throws ConfigError listing one problem per line, each naming its variable.
 */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    // Shape errors first; cross-variable rules below assume each value is well-formed.
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  }
  const vars = parsed.data;
  const problems: string[] = [];
  const nodeEnv = vars.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const port = vars.PORT ?? 3000;
  const issuer = vars.ISSUER ?? `http://localhost:${port}`;

  const wechat = appPair(vars, 'WECHAT_APP_ID', 'WECHAT_APP_SECRET', problems);
  const wechatWeb = appPair(vars, 'WECHAT_WEB_APP_ID', 'WECHAT_WEB_APP_SECRET', problems);
  const wechatMini = appPair(vars, 'WECHAT_MINI_APP_ID', 'WECHAT_MINI_APP_SECRET', problems);
  const wechatMobile = appPair(vars, 'WECHAT_MOBILE_APP_ID', 'WECHAT_MOBILE_APP_SECRET', problems);

  let cookieKeys = vars.COOKIE_KEYS;
  let cookieKeysGenerated = false;

  if (production) {
    // Tokens and cookies carry the issuer; plain http would leak them and break `Secure` cookies.
    if (!vars.ISSUER) problems.push('ISSUER: is required when NODE_ENV=production');
    else if (!issuer.startsWith('https://')) {
      problems.push('ISSUER: must be an https URL when NODE_ENV=production');
    }
    // A generated key would sign everyone out on each restart and differ between replicas.
    if (!cookieKeys) problems.push('COOKIE_KEYS: is required when NODE_ENV=production');
    else if (cookieKeys.some((key) => key.length < MIN_COOKIE_KEY_LENGTH)) {
      problems.push(`COOKIE_KEYS: each key must be at least ${MIN_COOKIE_KEY_LENGTH} characters when NODE_ENV=production`);
    }
    if (!vars.WECHAT_APP_ID && !vars.WECHAT_APP_SECRET) {
      problems.push(
        'WECHAT_APP_ID, WECHAT_APP_SECRET: are required when NODE_ENV=production ' + '(the WeChat sandbox is not allowed in production)',
      );
    }
  } else if (!cookieKeys) {
    cookieKeys = [randomBytes(32).toString('base64url')];
    cookieKeysGenerated = true;
  }

  // A typo'd directory would otherwise become a new, empty database (new `sub`s for everyone).
  // The default's directory (data/) is the service's own to create.
  const databaseUrl = vars.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const directoryProblem = vars.DATABASE_URL ? sqliteDirectoryProblem(databaseTarget(databaseUrl)) : undefined;
  if (directoryProblem) problems.push(`DATABASE_URL: ${directoryProblem} (create it, or fix the path)`);

  const metricsPort = vars.METRICS_PORT ?? DEFAULT_METRICS_PORT;
  if (metricsPort === port) {
    problems.push('METRICS_PORT: must differ from PORT (metrics are served apart from the public port)');
  }

  // An https issuer is a real deployment, whatever NODE_ENV says: the sandbox (anyone signs in
  // as any test user) and the demo app never run there.
  const https = issuer.startsWith('https://');
  if (!production && https && !wechat) {
    problems.push('WECHAT_APP_ID, WECHAT_APP_SECRET: are required when ISSUER is https (the WeChat sandbox runs only on an http issuer)');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const sandbox = wechat === undefined && !production;

  return {
    nodeEnv,
    production,
    port,
    // The sandbox lets anyone sign in as any test user: keep it on this machine unless told.
    host: vars.HOST ?? (sandbox ? '127.0.0.1' : undefined),
    metricsPort,
    metricsHost: vars.METRICS_HOST ?? '127.0.0.1',
    sqliteSynchronous: vars.SQLITE_SYNCHRONOUS ?? 'FULL',
    issuer,
    databaseUrl,
    databaseWaitSeconds: vars.DATABASE_WAIT_SECONDS ?? 15,
    clientsFile: vars.CLIENTS_FILE ?? 'config/clients.json',
    wechat,
    wechatWeb,
    wechatMini,
    wechatMobile,
    sandbox,
    demo: !production && !https,
    // The sandbox re-creates WeChat under this server, so by default it is asked instead.
    wechatOpenOrigin: vars.WECHAT_OPEN_ORIGIN ?? (sandbox ? `${issuer}/sandbox` : 'https://open.weixin.qq.com'),
    wechatApiOrigin: vars.WECHAT_API_ORIGIN ?? (sandbox ? `${issuer}/sandbox` : 'https://api.weixin.qq.com'),
    cookieKeys: cookieKeys ?? [],
    cookieKeysGenerated,
    trustProxy: vars.TRUST_PROXY === '1' || vars.TRUST_PROXY === 'true',
    silentLogin: vars.WECHAT_SILENT_LOGIN === '1' || vars.WECHAT_SILENT_LOGIN === 'true',
    logLevel: vars.LOG_LEVEL ?? 'info',
    pushedAuthorizationRequests: vars.PUSHED_AUTHORIZATION_REQUESTS === '1' || vars.PUSHED_AUTHORIZATION_REQUESTS === 'true',
    // Generous per address: carrier NAT puts many phones behind one (a sign-in is about three
    // requests from the browser and two from the app's server). See docs/operations.md.
    rateLimits: { perAddress: vars.RATE_LIMIT_PER_ADDRESS ?? 600, perClient: vars.RATE_LIMIT_PER_CLIENT ?? 3000 },
  };
}
