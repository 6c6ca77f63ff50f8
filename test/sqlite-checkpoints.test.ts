import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../src/db/knex.js';
import { checkpointInBackground } from '../src/db/sqlite-checkpoints.js';

// On SQLite the write-ahead log is copied back into the database file by a worker thread,
// never inside one of the service's commits (which would hold up every request meanwhile).
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idp-checkpoints-'));
  dirs.push(dir);
  return join(dir, 'db.sqlite3');
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A database with one table of rows a few KB each. */
async function withTable(file: string): Promise<Knex> {
  const db = createKnex(`sqlite:${file}`);
  await db.schema.createTable('t', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  return db;
}

async function writeRows(db: Knex, count: number, from = 0): Promise<void> {
  await db.transaction(async (trx) => {
    for (let i = from; i < from + count; i++) await trx('t').insert({ id: i, body: 'x'.repeat(2000) });
  });
}

describe('SQLite checkpoints', () => {
  it('are made by the worker: the serving connection never checkpoints, yet the rows reach the database file', async () => {
    const file = tempFile();
    const db = await withTable(file);
    try {
      const [{ wal_autocheckpoint: auto }] = (await db.raw('pragma wal_autocheckpoint')) as [{ wal_autocheckpoint: number }];
      expect(auto).toBe(0);
      const before = statSync(file).size;
      await writeRows(db, 500); // about 1 MB, in the log first
      await until(() => statSync(file).size > before + 500_000);
      expect((await db('t').count({ n: '*' }))[0]!.n).toBe(500);
    } finally {
      await db.destroy();
    }
  });

  it('keep the log small: once checkpointed, the next writes start it over instead of growing it', async () => {
    const file = tempFile();
    const db = await withTable(file);
    try {
      await writeRows(db, 500);
      const logAfterFirst = statSync(`${file}-wal`).size;
      // The log starts over only once a checkpoint has finished: the database file holds every
      // page (the worker copies them in page order), and SQLite counts the log as copied back,
      // which it does after syncing the file (slow on a busy disk). A passive checkpoint
      // asked for then finds nothing left to copy, or finds the worker still at it.
      const [{ page_count: pages }] = (await db.raw('pragma page_count')) as [{ page_count: number }];
      const [{ page_size: pageSize }] = (await db.raw('pragma page_size')) as [{ page_size: number }];
      await until(() => statSync(file).size >= pages * pageSize);
      const copiedBack = async () => {
        const [state] = (await db.raw('pragma wal_checkpoint(PASSIVE)')) as [{ busy: number; log: number; checkpointed: number }];
        return state.busy === 0 && state.log === state.checkpointed;
      };
      for (let i = 0; !(await copiedBack()); i += 1) {
        if (i > 300) throw new Error('the checkpoint never finished');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await writeRows(db, 500, 500);
      // Without a checkpoint between them the second batch would have doubled the log.
      expect(statSync(`${file}-wal`).size).toBeLessThan(logAfterFirst * 1.5);
    } finally {
      await db.destroy();
    }
  });

  it('stop with the connection: once knex is destroyed the log is folded in and removed, as SQLite does when its last connection closes', async () => {
    const file = tempFile();
    const db = await withTable(file);
    await writeRows(db, 10);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await db.destroy();
    // The worker's connection was closed first; a worker still holding the file open would
    // have left the log behind.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('fall back to SQLite checkpointing in its commits when the worker cannot open the database', async () => {
    const pragmas: string[] = [];
    const checkpointer = checkpointInBackground(join(tempFile(), 'missing.sqlite3'), { pragma: (statement) => pragmas.push(statement) });
    await checkpointer.stop();
    expect(pragmas).toEqual(['wal_autocheckpoint = 0', 'wal_autocheckpoint = 1000']);
  });
});
