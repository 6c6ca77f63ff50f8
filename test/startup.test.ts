import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { MAIN, SHIPPED_CLIENTS, runService } from './helpers/service.js';
import { projectRoot } from '../src/paths.js';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { freePort } from '../bench/target.js';

// dist/ is compiled by the test run's global setup.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'idp-start-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (env: Record<string, string>, until?: RegExp) => runService(dir, env, until);

/** The environment a started service gets here: only what an operator would set. */
function serviceEnv(port: number, database: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    CLIENTS_FILE: SHIPPED_CLIENTS,
    PORT: String(port),
    // Several services at once: metrics on any free port.
    METRICS_PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, database)}`,
  };
}

/** The compiled service on `port` with an SQLite file of its own; `seen` waits for a pattern in its output. */
function startService(port: number, database: string) {
  const child = spawn(process.execPath, [MAIN], {
    cwd: dir,
    env: serviceEnv(port, database),
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const seen = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (pattern.test(output)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, seen, exited };
}

describe('starting the service', () => {
  it('creates and migrates the default SQLite database (data/idp.sqlite3) on first start, then stops cleanly on SIGTERM', async () => {
    const result = await run({ PORT: String(await freePort()) }, /"event":"started"/);
    expect(result.output).toContain('"event":"started"');
    expect(result.output).toContain('"event":"stopping"');
    expect(result.code).toBe(0);
    expect(existsSync(join(dir, 'data', 'idp.sqlite3'))).toBe(true);
  });

  it('cuts off a connection that never finishes its headers, rather than hold it for minutes', async () => {
    // The attack: thousands of connections each sending half a request line and waiting.
    const port = await freePort();
    const { child, seen } = startService(port, 'slow.sqlite3');
    try {
      await seen(/"event":"started"/);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n'));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      child.kill('SIGTERM');
    }
  }, 40_000);

  it('on SIGTERM finishes a request in flight before it stops', async () => {
    const port = await freePort();
    const { child, seen, exited } = startService(port, 'inflight.sqlite3');
    await seen(/"event":"started"/);

    // A token request whose body is still on its way when the stop signal arrives.
    const body = 'grant_type=authorization_code&code=not-a-code&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fdemo%2Fcallback';
    const answered = new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/token',
          headers: {
            // The issuer's host (http://localhost:PORT by default): the service answers for it only.
            host: `localhost:${port}`,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': String(body.length + '&client_id=demo'.length),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.on('error', reject);
      // Headers and half the body sent and read by the server before the signal.
      req.write(body, () =>
        setTimeout(() => {
          child.kill('SIGTERM');
          void seen(/"event":"stopping"/).then(() => req.end('&client_id=demo'));
        }, 200),
      );
    });

    // It was answered (an OAuth error for the made-up code), not cut off; then the process ended.
    expect(await answered).toBe(400);
    expect(await exited).toBe(0);
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
    writeFileSync(
      file,
      JSON.stringify([{ client_id: 'shop', client_secret: 'super-secret-value-0123456789abcdef', redirect_uris: ['not a url'] }]),
    );
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

  it('names PORT when another process holds it, and stops without a stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const result = await run({ PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'taken.sqlite3')}` });
      expect(result.code).toBe(1);
      expect(result.output).toContain(`PORT ${port} on HOST 127.0.0.1 is already in use`);
      expect(result.output).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('npm start runs the compiled service without compiling, and SIGTERM to npm stops the service too', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start', '--prefix', projectRoot], {
      cwd: dir,
      env: serviceEnv(port, 'npm.sqlite3'),
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    npm.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    for (let i = 0; i < 100 && !output.includes('"event":"started"'); i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('"event":"started"');
    expect(output).not.toMatch(/tsc/);
    npm.kill('SIGTERM');
    await exited;
    // The service itself drained and stopped: nothing holds the port any more.
    for (let i = 0; i < 50 && !output.includes('"event":"stopped"'); i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('"event":"stopped"');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('writes readable lines at a terminal in development, JSON lines otherwise', async () => {
    const port = await freePort();
    // `script` gives the service a terminal for its stdout, as a developer's shell does.
    const command = `${process.execPath} ${MAIN}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: serviceEnv(port, 'tty.sqlite3'),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      for (let i = 0; i < 100 && !output.includes('listening on'); i += 1) await new Promise((r) => setTimeout(r, 100));
      await fetch(`http://127.0.0.1:${port}/healthz`);
      child.stdin.write('\x03'); // Ctrl+C at the terminal
      await exited;
    } finally {
      // A failure above must not leave the service running (closing its terminal ends it).
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(output).toMatch(/INFO.*listening on http:\/\/127\.0\.0\.1:\d+ for issuer/);
    expect(output).not.toMatch(/^\{"level"/m);
  });
});
