import type { KnexPool, StatementExecutor } from './executor.js';

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs prepared statements on PostgreSQL connections of knex's pool as named statements:
 * the server parses and plans each once per connection (pg keeps track of which connection
 * has prepared which), instead of at every query. Each statement commits by itself.
 */
export class PgExecutor implements StatementExecutor {
  constructor(private readonly pool: KnexPool) {}

  read<Row>(sql: string, bindings: unknown[], name: string): Promise<Row[]> {
    return this.run<Row>(sql, bindings, name);
  }

  write<Row>(sql: string, bindings: unknown[], name: string): Promise<Row[]> {
    return this.run<Row>(sql, bindings, name);
  }

  private async run<Row>(sql: string, bindings: unknown[], name: string): Promise<Row[]> {
    const connection = (await this.pool.acquireConnection()) as PgConnection;
    try {
      return (await connection.query({ name, text: sql, values: bindings })).rows as Row[];
    } finally {
      await this.pool.releaseConnection(connection);
    }
  }
}
