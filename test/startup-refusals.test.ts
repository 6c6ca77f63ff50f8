import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runService } from './helpers/service.js';
import { freePort } from '../bench/target.js';

// Each wrong setting stops the start with one line that names it (never a stack trace, never
// a password), before anything is created or listened on.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'idp-refusals-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRODUCTION = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.test',
  COOKIE_KEYS: 'c'.repeat(40),
  WECHAT_APP_ID: 'wx0000000000000000',
  WECHAT_APP_SECRET: 's'.repeat(32),
};
const SHOP = { client_id: 'shop', client_secret: 'x'.repeat(40), redirect_uris: ['https://shop.example.test/cb'] };

function clients(name: string, list: unknown[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(list));
  return file;
}

/** The problem lines a refused start printed: what follows "Configuration error:" or "Failed to start:". */
function problems(output: string): string[] {
  return output.split('\n').filter((line) => line && !line.startsWith('oidc-provider WARNING') && line !== 'Configuration error:');
}

const cases: Array<[string, () => Record<string, string>, RegExp]> = [
  [
    'the shipped demo client in production',
    () => ({
      ...PRODUCTION,
      CLIENTS_FILE: clients('demo', [
        SHOP,
        { client_id: 'demo', token_endpoint_auth_method: 'none', redirect_uris: ['https://id.example.test/demo/callback'] },
      ]),
    }),
    /^CLIENTS_FILE .*demo\.json: client "demo" field client_id: is the shipped demo app/,
  ],
  [
    'an empty clients file in production',
    () => ({ ...PRODUCTION, CLIENTS_FILE: clients('empty', []) }),
    /^CLIENTS_FILE .*empty\.json: lists no clients/,
  ],
  [
    'an http redirect URI in production',
    () => ({ ...PRODUCTION, CLIENTS_FILE: clients('http', [{ ...SHOP, redirect_uris: ['http://shop.example.test/cb'] }]) }),
    /^CLIENTS_FILE .*http\.json: client "shop" field redirect_uris\[0\]: must be an https URL/,
  ],
  [
    'an unknown client field, with a hint',
    () => ({ CLIENTS_FILE: clients('typo', [{ ...SHOP, skip_consnet: true }]) }),
    /^CLIENTS_FILE .*typo\.json: client "shop" field skip_consnet: unknown field \(did you mean skip_consent\?\)$/,
  ],
  [
    'an SQLite path whose directory does not exist',
    () => ({ DATABASE_URL: `sqlite:${join(dir, 'no-such-dir', 'idp.sqlite3')}` }),
    /^DATABASE_URL: the directory .*no-such-dir does not exist/,
  ],
  ['an ISSUER with a path', () => ({ ISSUER: 'http://localhost:3000/idp' }), /^ISSUER: must not have a path/],
  [
    'a PostgreSQL server that does not answer, after DATABASE_WAIT_SECONDS',
    () => ({ DATABASE_URL: 'postgres://idp:hunter2-secret@127.0.0.1:1/idp', DATABASE_WAIT_SECONDS: '1' }),
    /^Failed to start: DATABASE_URL \(PostgreSQL postgres:\/\/idp:\*\*\*@127\.0\.0\.1:1\/idp\) cannot be reached after waiting 1 s \(DATABASE_WAIT_SECONDS\): connect ECONNREFUSED/,
  ],
];

describe('a wrong setting stops the start with one line naming it', () => {
  it.each(cases)('%s', async (_name, env, line) => {
    const result = await runService(dir, { PORT: String(await freePort()), DATABASE_URL: `sqlite:${join(dir, 'idp.sqlite3')}`, ...env() });
    expect(result.code).toBe(1);
    // Log lines (JSON) may come before; the refusal itself is one plain line on stderr.
    const plain = problems(result.output).filter((text) => !text.startsWith('{'));
    expect(plain).toEqual([expect.stringMatching(line)]);
    expect(result.output).not.toMatch(/\n\s+at /);
    expect(result.output).not.toContain('hunter2-secret');
  });

  it('creates nothing when it refuses', () => {
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
  });
});

describe('where it listens', () => {
  it('with the sandbox on: loopback only, and the start line names the address and the issuer', async () => {
    const port = await freePort();
    const result = await runService(
      dir,
      { PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'listen.sqlite3')}` },
      /"event":"started"/,
    );
    const started = JSON.parse(result.output.split('\n').find((line) => line.includes('"event":"started"'))!) as Record<string, unknown>;
    expect(started).toMatchObject({
      listening: `http://127.0.0.1:${port}`,
      issuer: `http://localhost:${port}`,
      sandbox: true,
      msg: `listening on http://127.0.0.1:${port} for issuer http://localhost:${port}`,
    });
    expect(started.database).toBe(`SQLite ${join(dir, 'listen.sqlite3')}`);
  });

  it('HOST chooses the address', async () => {
    const port = await freePort();
    const result = await runService(
      dir,
      { PORT: String(port), HOST: '0.0.0.0', DATABASE_URL: `sqlite:${join(dir, 'listen.sqlite3')}` },
      /"event":"started"/,
    );
    expect(result.output).toContain(`"listening":"http://0.0.0.0:${port}"`);
  });
});
