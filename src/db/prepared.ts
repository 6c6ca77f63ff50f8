import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { executorFor, isSqlite, type StatementExecutor } from './executor.js';

/**
 * A query whose SQL knex compiles once, then runs with new values straight on a connection of
 * knex's pool (see executor.ts).
 *
 * The provider's adapter and the account lookups send the same few statements dozens of times
 * per sign-in. Building and compiling a query with knex's builder costs about as much as
 * SQLite takes to run it, and knex's runner (query events, response shaping, timeouts) as
 * much again. The builder still writes the SQL (so each dialect gets its own quoting, `limit`
 * and upsert syntax); `build` is called once with a marker per named value, and the positions
 * of those markers in the compiled bindings tell where each value goes afterwards.
 */
export class PreparedQuery<Name extends string> {
  /** The compiled SQL (`?` on SQLite, `$1…` on PostgreSQL). */
  readonly sql: string;
  /** Its name as a PostgreSQL prepared statement. */
  readonly name: string;
  private readonly slots: (Name | { constant: unknown })[];
  private readonly executor: StatementExecutor;
  private readonly reads: boolean;

  constructor(db: Knex, names: readonly Name[], build: (values: Record<Name, string>) => Knex.QueryBuilder | Knex.Raw) {
    const markers = Object.fromEntries(names.map((name) => [name, `\u0000${name}\u0000`])) as Record<Name, string>;
    const byMarker = new Map<unknown, Name>(names.map((name) => [markers[name], name]));
    const compiled = build(markers).toSQL();
    this.sql = isSqlite(db) ? compiled.sql : compiled.toNative().sql;
    this.name = `q_${createHash('sha1').update(this.sql).digest('hex').slice(0, 16)}`;
    // Bindings that are not markers are constants the builder added itself (`limit 1`).
    this.slots = compiled.bindings.map((binding) => byMarker.get(binding) ?? { constant: binding });
    // Anything but a plain select (raw SQL included) is treated as a write.
    this.reads = compiled.method === 'select' || compiled.method === 'first';
    this.executor = executorFor(db);
  }

  /** The values in the order the SQL takes them. */
  bindings(values: Record<Name, unknown>): unknown[] {
    return this.slots.map((slot) => (typeof slot === 'object' ? slot.constant : values[slot]));
  }

  /** Runs the query; the rows it returned, if any. */
  run<Row>(values: Record<Name, unknown>): Promise<Row[]> {
    const bindings = this.bindings(values);
    return this.reads ? this.executor.read<Row>(this.sql, bindings, this.name) : this.executor.write<Row>(this.sql, bindings, this.name);
  }
}
