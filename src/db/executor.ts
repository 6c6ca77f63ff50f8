import type { Knex } from 'knex';
import { PgExecutor } from './pg-executor.js';
import { SqliteExecutor } from './sqlite-executor.js';

/** knex's client, seen as the pool every query of the process shares. */
export interface KnexPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/** Runs compiled SQL (with `?` on SQLite, `$1…` on PostgreSQL) on a connection of knex's pool. */
export interface StatementExecutor {
  read<Row>(sql: string, bindings: unknown[], name: string): Promise<Row[]>;
  /** Resolves once the write is committed; the rows it returned (`returning …`), if any. */
  write<Row>(sql: string, bindings: unknown[], name: string): Promise<Row[]>;
}

const executors = new WeakMap<Knex, StatementExecutor>();

/** One executor per knex instance (the SQLite one keeps its connection's prepared statements). */
export function executorFor(db: Knex): StatementExecutor {
  let executor = executors.get(db);
  if (!executor) {
    const pool = db.client as KnexPool;
    executor = isSqlite(db) ? new SqliteExecutor(pool) : new PgExecutor(pool);
    executors.set(db, executor);
  }
  return executor;
}

export function isSqlite(db: Knex): boolean {
  return (db.client as { config: { client: unknown } }).config.client === 'better-sqlite3';
}

/** The rows a `db.raw` statement with `returning` gave: better-sqlite3 answers an array, pg an object holding them. */
export function rawRows<Row>(answer: unknown): Row[] {
  return Array.isArray(answer) ? (answer as Row[]) : (answer as { rows: Row[] }).rows;
}
