import type { Knex } from 'knex';

// Blocking an account revokes at once everything the provider holds for it (sessions,
// grants, codes, access and refresh tokens): those rows are found by the account they belong
// to, which oidc-provider keeps inside the JSON payload, so it gets a column of its own.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.string('account_id', 32).nullable();
  });
  // Rows written before this column existed: read the account id out of their payload.
  const accountInPayload =
    knex.client.config.client === 'pg' ? knex.raw(`payload::json->>'accountId'`) : knex.raw(`json_extract(payload, '$.accountId')`);
  await knex('oidc_models').update({ account_id: accountInPayload });
  await knex.schema.alterTable('oidc_models', (t) => {
    // revokeAccount; only rows that belong to an account (not interactions or clients).
    t.index(['account_id'], 'oidc_models_account_index', { predicate: knex.whereNotNull('account_id') });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_models', (t) => {
    t.dropIndex(['account_id'], 'oidc_models_account_index');
    t.dropColumn('account_id');
  });
}
