import type { Knex } from 'knex';

// Back-channel logout tokens still to be sent to apps, one row per (app, person, session):
// written in the transaction that blocks or merges the accounts, delivered by any instance
// and retried until the app takes it (src/oidc/logout-notices.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('logout_notices', (t) => {
    t.increments('id').primary();
    t.string('client_id').notNullable();
    t.string('sub').notNullable();
    t.string('sid').nullable(); // none: every session of `sub` at that app
    t.bigInteger('created_at').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_at').notNullable(); // due from then; an instance sending it moves it on
    t.index(['next_at'], 'logout_notices_next_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('logout_notices');
}
