import type { Knex } from 'knex';

// Every provider model write updates each index of oidc_models, and most rows have no uid
// (only sessions and interactions do), no user_code (no device flow) and, for some models,
// no grant id. Indexing only the rows that have the value keeps the same lookups fast and
// makes each write cheaper: fewer index entries to change, fewer pages to write.
const PARTIAL = [
  { column: 'grant_id', name: 'oidc_models_grant_index' }, // revokeByGrantId
  { column: 'uid', name: 'oidc_models_uid_index' }, // Session.findByUid
  { column: 'user_code', name: 'oidc_models_user_code_index' }, // DeviceCode.findByUserCode
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const { column, name } of PARTIAL) {
    await knex.schema.alterTable('oidc_models', (t) => {
      t.dropIndex([column], name);
      t.index([column], name, { predicate: knex.whereNotNull(column) });
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { column, name } of PARTIAL) {
    await knex.schema.alterTable('oidc_models', (t) => {
      t.dropIndex([column], name);
      t.index([column], name);
    });
  }
}
