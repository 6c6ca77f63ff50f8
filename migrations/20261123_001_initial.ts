import type { Knex } from 'knex';

// Times the service itself compares (expiry, consumption) are epoch milliseconds in bigints:
// the same arithmetic on SQLite and PostgreSQL, no time-zone conversions.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.string('id', 32).primary(); // the OIDC `sub`: random, never a WeChat id
    t.text('nickname').notNullable().defaultTo(''); // arbitrary Unicode, emoji included
    t.text('avatar_url').notNullable().defaultTo('');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('wechat_identities', (t) => {
    t.increments('id').primary();
    t.string('account_id', 32).notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.string('app_id', 64).notNullable();
    t.string('openid', 128).notNullable();
    t.string('unionid', 128).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    // Every sign-in looks the person up by (app id, openid); the unique index also makes a
    // concurrent duplicate registration fail instead of creating a second identity.
    t.unique(['app_id', 'openid'], { indexName: 'wechat_identities_app_openid_unique' });
    // A new identity is linked to an existing account by unionid.
    t.index(['unionid'], 'wechat_identities_unionid_index');
    // Claims are built from an account's identities (findAccount on every token/userinfo).
    t.index(['account_id'], 'wechat_identities_account_index');
  });

  await knex.schema.createTable('wechat_states', (t) => {
    t.string('state', 64).primary(); // the callback consumes a state by this key
    t.string('uid', 64).notNullable(); // the interaction it belongs to
    t.string('app_id', 64).notNullable();
    t.string('scope', 32).notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at'], 'wechat_states_expires_index'); // the cleanup deletes by expiry
  });

  await knex.schema.createTable('oidc_models', (t) => {
    t.string('model', 32).notNullable();
    t.string('id', 255).notNullable();
    t.text('payload').notNullable();
    t.string('grant_id', 255).nullable();
    t.string('uid', 255).nullable();
    t.string('user_code', 255).nullable();
    t.bigInteger('expires_at').nullable();
    t.bigInteger('consumed_at').nullable();
    t.primary(['model', 'id']); // find / upsert / destroy / consume
    t.index(['grant_id'], 'oidc_models_grant_index'); // revokeByGrantId
    t.index(['uid'], 'oidc_models_uid_index'); // Session.findByUid
    t.index(['user_code'], 'oidc_models_user_code_index'); // DeviceCode.findByUserCode
    t.index(['expires_at'], 'oidc_models_expires_index'); // the expired-row cleanup
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.string('kid', 64).primary();
    // Unique so that two instances starting on an empty database create one first key.
    t.integer('generation').notNullable().unique();
    t.text('jwk').notNullable(); // private JWK (JSON)
    t.bigInteger('created_at').notNullable();
  });

  // The development sandbox's pretend WeChat users (unused when real WeChat is configured).
  await knex.schema.createTable('sandbox_users', (t) => {
    t.string('id', 32).primary();
    t.text('nickname').notNullable();
    t.string('unionid', 64).notNullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sandbox_users');
  await knex.schema.dropTable('signing_keys');
  await knex.schema.dropTable('oidc_models');
  await knex.schema.dropTable('wechat_states');
  await knex.schema.dropTable('wechat_identities');
  await knex.schema.dropTable('accounts');
}
