import type { Knex } from 'knex';

// Sessions and interactions are looked up by (model, uid): oidc-provider's findByUid, and the
// session read together with a token or an interaction (adapter.ts). With an index on uid
// alone, PostgreSQL without fresh statistics (a new database, or autovacuum off) planned the
// model condition as a second bitmap scan over the primary key, thousands of entries for
// every lookup: 0.9 ms instead of 0.25 for the joined read. An index on both columns answers
// both conditions in one descent, whatever the statistics say.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.dropIndex(['uid'], 'oidc_models_uid_index');
    t.index(['model', 'uid'], 'oidc_models_model_uid_index', { predicate: knex.whereNotNull('uid') });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.dropIndex(['model', 'uid'], 'oidc_models_model_uid_index');
    t.index(['uid'], 'oidc_models_uid_index', { predicate: knex.whereNotNull('uid') });
  });
}
