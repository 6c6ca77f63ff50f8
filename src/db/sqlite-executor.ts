import type { KnexPool, StatementExecutor } from './executor.js';

interface SqliteStatement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): unknown;
}
/** The part of a better-sqlite3 connection used here. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}

/** Runs one statement of a transaction; the rows it returned, if any. */
export type RunStatement = <Row>(sql: string, bindings: unknown[]) => Row[];

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

  /**
   * Runs `steps` (statements that belong together, like a registration) in one transaction:
   * all of them or none. The steps run synchronously on the one connection, so nothing else
   * can come in between, and the statements stay prepared, where a knex transaction would
   * build and prepare each anew.
   */
  async transaction<Result>(steps: (run: RunStatement) => Result): Promise<Result> {
    const connection = (await this.pool.acquireConnection()) as SqliteConnection;
    try {
      connection.exec('BEGIN IMMEDIATE');
      try {
        const result = steps((sql, bindings) => this.execute(connection, sql, bindings));
        connection.exec('COMMIT');
        return result;
      } catch (error) {
        if (connection.inTransaction) connection.exec('ROLLBACK');
        throw error;
      }
    } finally {
      await this.pool.releaseConnection(connection);
    }
  }

  private async run<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    const connection = (await this.pool.acquireConnection()) as SqliteConnection;
    try {
      return this.execute<Row>(connection, sql, bindings);
    } finally {
      await this.pool.releaseConnection(connection);
    }
  }

  private execute<Row>(connection: SqliteConnection, sql: string, bindings: unknown[]): Row[] {
    const statement = this.statement(connection, sql);
    return (statement.reader ? statement.all(bindings) : (statement.run(bindings), [])) as Row[];
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
