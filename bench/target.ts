import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../src/paths.js';

export type TargetKind = 'ours' | 'baseline';

export interface RssSample {
  at: number;
  bytes: number;
}

export interface RunningTarget {
  issuer: string;
  clientSecret: string;
  pid: number;
  /** Resident memory of the provider's process, sampled every 100 ms since it was ready. */
  rss: RssSample[];
  stop(): Promise<void>;
}

/**
 * A port nobody listens on now, for a child process to take. Taken from below the kernel's
 * ephemeral range: a port that `listen(0)` hands out and the probe gives back can be taken
 * again, before the child binds it, as the local port of any outgoing connection (the
 * benchmark and the tests beside it open thousands), and the child then fails with
 * EADDRINUSE. Ports below the range are only ever taken by an explicit bind.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow() - 1;
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * (low - 10000));
    if (await canListen(port)) return port;
  }
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 20000 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU time (user + system) a process has used so far, in seconds. /proc counts it in clock
 * ticks of 1/100 s on Linux. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited during start:\n${output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}: the process did not start:\n${output()}`);
}

/** A child process of the benchmark, with the first lines of its output kept for errors. */
function spawnNode(script: string, env: Record<string, string>, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let output = '';
  // Logs are read and dropped, as a log shipper would; the first lines are kept for errors.
  const keep = (chunk: Buffer) => {
    if (output.length < 4000) output += chunk.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return { child, output: () => output, stop };
}

/**
 * Starts a provider in its own process, so its CPU and memory are its own: ours (the compiled
 * `dist/src/main.js`, exactly as `npm start` runs it) or the bare baseline; and, in a third
 * process, the sandbox playing WeChat for it.
 */
export async function startTarget(kind: TargetKind, options: TargetOptions): Promise<RunningTarget> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(kind, options);
    } catch (error) {
      // Another process may still bind a port between its probe and the child's bind: try
      // other ports then, but let any other failure through.
      if (attempt === 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

interface TargetOptions {
  databaseUrl?: string;
  cpuProfileDir?: string;
  /** false: the rate limits off, to measure what counting costs. */
  rateLimits?: boolean;
}

async function startOnce(kind: TargetKind, options: TargetOptions): Promise<RunningTarget> {
  const [port, wechatPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${port}`;
  const wechatOrigin = `http://127.0.0.1:${wechatPort}/sandbox`;
  const app = { id: 'wx0123456789abcdef', secret: randomBytes(16).toString('hex') };
  const clientSecret = randomBytes(24).toString('hex');

  const wechat = spawnNode(join(projectRoot, 'dist', 'bench', 'wechat-sandbox.js'), {
    PORT: String(wechatPort),
    CALLBACK_ORIGIN: issuer,
    APP_ID: app.id,
    APP_SECRET: app.secret,
  });
  await waitReady(`${wechatOrigin}/avatar/snapshot/132`, wechat.child, wechat.output);

  const script = kind === 'ours' ? join(projectRoot, 'dist', 'src', 'main.js') : join(projectRoot, 'dist', 'bench', 'baseline.js');
  const provider = spawnNode(
    script,
    {
      PORT: String(port),
      BENCH_CLIENT_SECRET: clientSecret,
      WECHAT_APP_ID: app.id,
      WECHAT_APP_SECRET: app.secret,
      // The baseline's one setting for WeChat; ours takes WeChat's two origins.
      WECHAT_ORIGIN: wechatOrigin,
      WECHAT_OPEN_ORIGIN: wechatOrigin,
      WECHAT_API_ORIGIN: wechatOrigin,
      // Ours as deployed (templates cached, info-level JSON logs) but on loopback http.
      NODE_ENV: 'test',
      ISSUER: issuer,
      DATABASE_URL: options.databaseUrl ?? '',
      CLIENTS_FILE: join(projectRoot, 'bench', 'clients.json'),
      COOKIE_KEYS: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info',
      // Every sign-in comes from one address: the limits count each request (their cost is
      // measured) but are set above what the load reaches, so none is refused.
      RATE_LIMIT_PER_ADDRESS: options.rateLimits === false ? '0' : '1000000',
      RATE_LIMIT_PER_CLIENT: options.rateLimits === false ? '0' : '1000000',
    },
    options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
  );
  try {
    await waitReady(`${issuer}/.well-known/openid-configuration`, provider.child, provider.output);
  } catch (error) {
    // A provider that never answered may not answer SIGTERM either.
    await provider.stop('SIGKILL');
    await wechat.stop();
    throw error;
  }

  const pid = provider.child.pid!;
  const rss: RssSample[] = [];
  const sampler = setInterval(() => {
    try {
      rss.push({ at: Date.now(), bytes: rssOf(pid) });
    } catch {
      // exited
    }
  }, 100);
  return {
    issuer,
    clientSecret,
    pid,
    rss,
    async stop() {
      clearInterval(sampler);
      await provider.stop();
      await wechat.stop();
    },
  };
}
