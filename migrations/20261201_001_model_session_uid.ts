import type { Knex } from 'knex';

// oidc-provider reads a token's (or an interaction's) session right after the row itself;
// with the session's uid in a column of its own, one statement reads both (adapter.ts).
// No index: the session is found through the uid index of its own row.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.string('session_uid', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.dropColumn('session_uid');
  });
}
