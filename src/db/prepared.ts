import type { Knex } from 'knex';

/**
 * A query whose SQL knex compiles once, then runs with new values through `knex.raw`.
 *
 * Building and compiling a query with knex's builder costs about as much as SQLite takes to
 * run it, and the provider's adapter sends the same few statements dozens of times per
 * sign-in. The builder still writes the SQL (so each dialect gets its own quoting, `limit`
 * and upsert syntax); `build` is called once with a marker per named value, and the positions
 * of those markers in the compiled bindings tell where each value goes afterwards.
 */
export class PreparedQuery<Name extends string> {
  private readonly sql: string;
  private readonly slots: (Name | { constant: unknown })[];

  constructor(private readonly db: Knex, names: readonly Name[], build: (values: Record<Name, string>) => Knex.QueryBuilder) {
    const markers = Object.fromEntries(names.map((name) => [name, `\u0000${name}\u0000`])) as Record<Name, string>;
    const byMarker = new Map<unknown, Name>(names.map((name) => [markers[name], name]));
    const compiled = build(markers).toSQL();
    this.sql = compiled.sql;
    // Bindings that are not markers are constants the builder added itself (`limit 1`).
    this.slots = compiled.bindings.map((binding) => byMarker.get(binding) ?? { constant: binding });
  }

  /** Runs the query; the rows it returned, if any (both drivers' raw answers handled). */
  async run<Row>(values: Record<Name, unknown>): Promise<Row[]> {
    const bindings = this.slots.map((slot) => (typeof slot === 'object' ? slot.constant : values[slot])) as Knex.RawBinding[];
    const answer: unknown = await this.db.raw(this.sql, bindings);
    if (Array.isArray(answer)) return answer as Row[]; // better-sqlite3: the rows
    return ((answer as { rows?: Row[] }).rows ?? []); // pg: a result with rows
  }
}
