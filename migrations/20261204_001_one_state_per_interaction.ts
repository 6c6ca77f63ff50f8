import type { Knex } from 'knex';

// One WeChat state per interaction, app and scope: a reload of the login step reuses it
// instead of storing another, so reloads cannot pile rows up. States are short-lived and
// replaceable: any duplicates a running service left are dropped (their sign-ins ask again).
export async function up(knex: Knex): Promise<void> {
  await knex('wechat_states').del();
  await knex.schema.alterTable('wechat_states', (t) => {
    t.unique(['uid', 'app_id', 'scope'], { indexName: 'wechat_states_interaction_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('wechat_states', (t) => {
    t.dropUnique(['uid', 'app_id', 'scope'], 'wechat_states_interaction_unique');
  });
}
