import type { Knex } from 'knex';

// The request counters every instance shares on PostgreSQL (src/http/rate-limits.ts). The
// shape is the one rate-limiter-flexible's PostgreSQL store reads and writes; it is created
// here, with the rest of the schema, instead of by the library at run time. SQLite keeps its
// counters in memory (one instance, and no disk write per request), so it gets no table.
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'better-sqlite3') return;
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire').nullable(); // epoch ms; the library deletes rows an hour past it
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
