import type { KnexPool, StatementExecutor } from './executor.js';

interface SqliteStatement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): unknown;
}
/** The part of a better-sqlite3 connection used here. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

const STATEMENT_CACHE_SIZE = 200;

/**
 * Runs statements on knex's one SQLite connection, each committing by itself, with the
 * statement prepared once per connection: better-sqlite3 would otherwise parse and plan the
 * same few SQL strings at every call. Reusing a prepared statement is safe because
 * better-sqlite3 runs each to completion synchronously, and SQLite prepares it again by itself
 * when the schema changes. The cache is bounded, oldest dropped first.
 */
export class SqliteExecutor implements StatementExecutor {
  private readonly prepared = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

  constructor(private readonly pool: KnexPool) {}

  read<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    return this.run<Row>(sql, bindings);
  }

  write<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    return this.run<Row>(sql, bindings);
  }

  private async run<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    const connection = (await this.pool.acquireConnection()) as SqliteConnection;
    try {
      const statement = this.statement(connection, sql);
      return (statement.reader ? statement.all(bindings) : (statement.run(bindings), [])) as Row[];
    } finally {
      await this.pool.releaseConnection(connection);
    }
  }

  private statement(connection: SqliteConnection, sql: string): SqliteStatement {
    let cache = this.prepared.get(connection);
    if (!cache) {
      cache = new Map();
      this.prepared.set(connection, cache);
    }
    let statement = cache.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(sql, statement);
    }
    return statement;
  }
}
