import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { projectRoot } from '../src/paths.js';

// The real entry point, as `npm start` runs it: compiled, in its own process, configured by
// the environment only.
const main = join(projectRoot, 'dist', 'src', 'main.js');
let dir: string;

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: projectRoot, stdio: 'pipe' });
  dir = mkdtempSync(join(tmpdir(), 'idp-start-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

interface Run { code: number | null; output: string }

/** Starts the service; resolves when it exits, or when `until` shows up in its output (then stops it). */
function run(env: Record<string, string>, until?: RegExp): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', CLIENTS_FILE: join(projectRoot, 'config', 'clients.json'), ...env },
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('starting the service', () => {
  it('creates and migrates the SQLite database on first start, then stops cleanly on SIGTERM', async () => {
    const result = await run({ PORT: String(await freePort()), DATABASE_URL: `sqlite:${join(dir, 'fresh', 'idp.sqlite3')}` }, /"event":"started"/);
    expect(result.output).toContain('"event":"started"');
    expect(result.output).toContain('"event":"stopping"');
    expect(result.code).toBe(0);
    expect(existsSync(join(dir, 'fresh', 'idp.sqlite3'))).toBe(true);
  });

  it('refuses production without https ISSUER, COOKIE_KEYS and WeChat credentials, naming each', async () => {
    const result = await run({ NODE_ENV: 'production', ISSUER: 'http://id.example.com' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('ISSUER');
    expect(result.output).toContain('COOKIE_KEYS');
    expect(result.output).toContain('WECHAT_APP_ID');
    expect(result.output).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('names the client and the field of a bad clients file, and never prints the secret', async () => {
    const file = join(dir, 'clients.json');
    writeFileSync(file, JSON.stringify([{ client_id: 'shop', client_secret: 'super-secret-value-0123456789abcdef', redirect_uris: ['not a url'] }]));
    const result = await run({ CLIENTS_FILE: file, DATABASE_URL: `sqlite:${join(dir, 'bad.sqlite3')}` });
    expect(result.code).toBe(1);
    expect(result.output).toContain('CLIENTS_FILE');
    expect(result.output).toContain('"shop"');
    expect(result.output).toContain('redirect_uris[0]');
    expect(result.output).not.toContain('super-secret-value');
  });

  it('names PORT when it is not a port', async () => {
    const result = await run({ PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('PORT');
  });
});
