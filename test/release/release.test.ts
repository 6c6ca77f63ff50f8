import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../bench/target.js';
import { testDatabaseUrl } from '../helpers/database.js';
import {
  buildReleaseOfHead,
  cleanEnv,
  exitWithin,
  requirePostgres,
  startService,
  stopEverything,
  untilHealthy,
  untilPrinted,
  type Build,
} from './suite.js';

// The release as it is shipped: the committed HEAD (commit before running this; the working
// copy's uncommitted changes are not in it), built by scripts/release-build.sh in a clone,
// without dev packages, started with NODE_ENV=production on PostgreSQL.
const ISSUER = 'https://id.example.test';
const BUILD_LIMIT_MS = 8 * 60_000;
const START_LIMIT_MS = 60_000;
// The requirement itself: a stopped service is gone within this, whatever its stdout.
const STOP_LIMIT_MS = 15_000;

let dir: string;
let build: Build;
let database: { url: string; drop(): Promise<void> } | undefined;
let productionEnv: Record<string, string>;

/** Discovery as the TLS proxy in front forwards it. */
async function discovery(port: number): Promise<{ status: number; issuer?: string }> {
  return new Promise((resolve, reject) => {
    // fetch() does not let a caller set Host; node:http does.
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/.well-known/openid-configuration',
        headers: { host: 'id.example.test', 'x-forwarded-proto': 'https' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve(status === 200 ? { status, issuer: (JSON.parse(body) as { issuer?: string }).issuer } : { status });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the production release', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-release-'));
    const base = await requirePostgres();
    build = await buildReleaseOfHead(dir, BUILD_LIMIT_MS);
    console.log(`release build of ${build.commit}: ${build.seconds.toFixed(0)} s`);
    database = await testDatabaseUrl(base);
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(
      clientsFile,
      JSON.stringify([
        {
          client_id: 'shop',
          client_secret: 'release-test-client-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: ['https://shop.example.test/auth/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ]),
    );
    productionEnv = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      ISSUER,
      DATABASE_URL: database.url,
      CLIENTS_FILE: clientsFile,
      WECHAT_APP_ID: 'wx0000000000000000',
      WECHAT_APP_SECRET: '0123456789abcdef0123456789abcdef',
      COOKIE_KEYS: 'release-test-cookie-key-0123456789abcdef',
      TRUST_PROXY: 'true',
    };
  }, BUILD_LIMIT_MS + 60_000);

  afterAll(async () => {
    stopEverything();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("npm ci then prune leave production packages only, and the checkout's tracked files unchanged", async () => {
    const { checkout } = build;
    for (const dev of ['typescript', 'jest', '@swc/core', 'nock', 'playwright-core']) {
      expect({ dev, installed: existsSync(join(checkout, 'node_modules', dev)) }).toEqual({ dev, installed: false });
    }
    for (const needed of [
      'dist/src/main.js',
      'dist/migrations',
      'node_modules/oidc-provider',
      'node_modules/better-sqlite3',
      'views',
      'public',
    ]) {
      expect({ needed, present: existsSync(join(checkout, needed)) }).toEqual({ needed, present: true });
    }
    const run = promisify(execFile);
    // `npm ls` fails on a missing or mismatched production package.
    await run('npm', ['ls', '--omit=dev', '--all'], { cwd: checkout, env: cleanEnv() });
    // Nothing tracked was rewritten (package-lock.json above all) and nothing untracked left.
    const { stdout } = await run('git', ['status', '--porcelain'], { cwd: checkout });
    expect(stdout).toBe('');
  });

  it('two instances started at the same moment on one new database both serve health and discovery', async () => {
    const ports = [await freePort(), await freePort()];
    while (ports[1] === ports[0]) ports[1] = await freePort();
    // Both migrate the empty database and look for signing keys at once.
    const services = ports.map((port) => startService(build.checkout, port, productionEnv));
    try {
      await Promise.all(services.map((service) => untilHealthy(service, START_LIMIT_MS)));
      for (const service of services) {
        const health = await fetch(`http://127.0.0.1:${service.port}/healthz`);
        expect(health.status).toBe(200);
        expect(await discovery(service.port)).toEqual({ status: 200, issuer: ISSUER });
      }
    } finally {
      for (const service of services) service.child.kill('SIGTERM');
      const codes = await Promise.all(services.map((service) => exitWithin(service, STOP_LIMIT_MS)));
      expect(codes).toEqual([0, 0]);
    }
  });

  it('stops within 15 s on SIGTERM after whatever reads its stdout has gone away', async () => {
    const service = startService(build.checkout, await freePort(), productionEnv);
    // Its first log line was written and read; nothing is waiting in its log buffer now.
    await untilPrinted(service, /"event":"started"/, START_LIMIT_MS);
    // A log collector that died: the read end of the service's stdout pipe is closed, so the
    // next write to it fails with EPIPE.
    service.child.stdout!.destroy();
    // Requests whose log lines the service still holds, unwritten, when the signal comes
    // right after: its last flush on the way out is the write that fails.
    const answers = await Promise.all([discovery(service.port), discovery(service.port)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    service.child.kill('SIGTERM');
    const outcome = await exitWithin(service, STOP_LIMIT_MS);
    if (outcome === 'still running') {
      service.child.kill('SIGKILL');
      throw new Error(
        `still running ${STOP_LIMIT_MS / 1000} s after SIGTERM with its stdout closed (killed now); what it printed:\n${service.output()}`,
      );
    }
    // Any exit will do; 0 is what a clean stop gives.
    console.log(`stopped with its stdout closed: exit ${outcome}`);
  });

  it('runs the operator commands from the release, naming the database they act on', async () => {
    const run = promisify(execFile);
    const databaseName = new URL(database!.url).pathname.slice(1);
    for (const [script, args] of [
      ['keys-cli.js', ['list']],
      ['accounts-cli.js', ['list']],
    ] as const) {
      const began = performance.now();
      const result = await run(process.execPath, [join('dist', 'src', script), ...args], {
        cwd: build.checkout,
        env: cleanEnv({ DATABASE_URL: database!.url }),
      }).then(
        ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
      );
      console.log(`${script} ${args.join(' ')}: ${Math.round(performance.now() - began)} ms`);
      expect({ script, ...result }).toEqual({
        script,
        code: 0,
        output: expect.stringMatching(new RegExp(`database:.*${databaseName}`, 'i')),
      });
    }
  });
});
