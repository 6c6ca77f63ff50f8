import type { Knex } from 'knex';

// Signing key rotation: a new key is published (in JWKS) before it signs, and an old key stays
// published until every token it signed has expired. Both times are epoch milliseconds.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.bigInteger('sign_from').nullable(); // from when this key may sign
    t.bigInteger('retire_at').nullable(); // after when it is no longer published; null = not planned
  });
  // Keys made before rotation existed have signed since they were made.
  await knex('signing_keys')
    .whereNull('sign_from')
    .update({ sign_from: knex.ref('created_at') });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.dropColumn('retire_at');
    t.dropColumn('sign_from');
  });
}
