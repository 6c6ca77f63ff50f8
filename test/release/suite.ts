import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { projectRoot } from '../../src/paths.js';

/** The PostgreSQL server the release runs against: TEST_DATABASE_URL, which must be reachable. */
export async function requirePostgres(): Promise<string> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base || !/^postgres(ql)?:\/\//.test(base)) {
    throw new Error(
      'The release test runs the release on PostgreSQL: set TEST_DATABASE_URL=postgres://user@host:port/database ' +
        `(got ${base ? `"${base.replace(/\/\/[^@/]*@/, '//…@')}"` : 'nothing'}), e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run test:release`,
    );
  }
  const quiet = () => {};
  const admin = knexFactory({
    client: 'pg',
    connection: base,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 5000,
    log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet },
  });
  try {
    await admin.raw('select 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL at TEST_DATABASE_URL (${describeUrl(base)}) is not reachable: ${(error as Error).message}. ` +
        'Start it (CI starts it in .ci/run) or point TEST_DATABASE_URL at a running server.',
      { cause: error },
    );
  } finally {
    await admin.destroy();
  }
  return base;
}

function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/**
 * Every process this suite started and has not seen end, so that a failing test leaves none
 * behind; `true` for one that leads a process group of its own (the build: npm starts
 * compilers under it), which is ended whole.
 */
const started = new Map<ChildProcess, boolean>();

export function stopEverything(): void {
  for (const [child, group] of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(group ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
  started.clear();
}

/**
 * An environment for the release's own processes: PATH, HOME (npm's cache and settings) and
 * proxy settings, none of the test run's (NODE_ENV=test, NODE_OPTIONS for jest's VM modules,
 * the npm_* variables of `npm run`, which name this working copy).
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const name of ['HOME', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface Build {
  checkout: string;
  commit: string;
  seconds: number;
  log: string;
}

/**
 * Clones the repository's committed HEAD (not the working copy: uncommitted changes are not
 * in the release) into `dir`/checkout and runs scripts/release-build.sh there.
 */
export async function buildReleaseOfHead(dir: string, timeoutMs: number): Promise<Build> {
  const checkout = join(dir, 'checkout');
  const run = promisify(execFile);
  await run('git', ['clone', '--quiet', '--no-hardlinks', projectRoot, checkout]);
  const commit = (await run('git', ['-C', checkout, 'rev-parse', '--short', 'HEAD'])).stdout.trim();

  const log = join(dir, 'release-build.log');
  const out = openSync(log, 'w');
  const began = performance.now();
  const child = spawn('bash', ['scripts/release-build.sh'], {
    cwd: checkout,
    env: cleanEnv(),
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  started.set(child, true);
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* ended meanwhile */
      }
    }, timeoutMs);
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      resolve(exitCode ?? signal ?? 'unknown');
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
  });
  started.delete(child);
  const seconds = (performance.now() - began) / 1000;
  if (code !== 0) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(
      `scripts/release-build.sh (commit ${commit}) ended with ${code} after ${seconds.toFixed(0)} s ` +
        `(limit ${timeoutMs / 1000} s); its last lines:\n${tail}`,
    );
  }
  return { checkout, commit, seconds, log };
}

export interface Service {
  child: ChildProcess;
  port: number;
  /** What it printed on stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once it has ended. */
  exited: Promise<number | string>;
}

/** `node dist/src/main.js` in the release folder, configured by `env` only. */
export function startService(releaseDir: string, port: number, env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: releaseDir,
    env: cleanEnv({ METRICS_PORT: '0', ...env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.set(child, false);
  let output = '';
  // The stream may be destroyed on purpose (see the SIGTERM test): read it while it lasts.
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdout.on('error', () => {});
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      started.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, port, output: () => output, exited };
}

/** Waits until GET /healthz answers 200, failing with the service's output if it ends or takes too long. */
export async function untilHealthy(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended: number | string | undefined;
  void service.exited.then((code) => {
    ended = code;
  });
  for (;;) {
    if (ended !== undefined)
      throw new Error(`the service on port ${service.port} ended (${ended}) before it was healthy:\n${service.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${service.port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline)
      throw new Error(`the service on port ${service.port} did not answer /healthz within ${timeoutMs / 1000} s:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the service has printed something matching `pattern` on stdout. */
export function untilPrinted(service: Service, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdout = service.child.stdout!;
    const timer = setTimeout(() => {
      stdout.off('data', check);
      reject(new Error(`the service did not print ${pattern} within ${timeoutMs / 1000} s:\n${service.output()}`));
    }, timeoutMs);
    function check() {
      if (!pattern.test(service.output())) return;
      clearTimeout(timer);
      stdout.off('data', check);
      resolve();
    }
    stdout.on('data', check);
    void service.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service ended (${code}) before it printed ${pattern}:\n${service.output()}`));
    });
    check();
  });
}

/** Resolves with the exit code, or with 'still running' once `ms` have passed. */
export function exitWithin(service: Service, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    service.exited,
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still running'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
