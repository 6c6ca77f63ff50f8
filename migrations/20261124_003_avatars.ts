import type { Knex } from 'knex';

// Avatars that last: WeChat's avatar URLs stop working after a while (a new avatar, an expired
// link), so each account's avatar is downloaded and served from a stable address of ours.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('avatars', (t) => {
    t.string('account_id', 32).primary().references('id').inTable('accounts').onDelete('CASCADE');
    t.string('content_type', 32).notNullable(); // checked on download: image/jpeg, png, gif or webp
    t.binary('bytes').notNullable(); // at most the download limit (avatar.ts)
    t.string('etag', 64).notNullable(); // sha256 of the bytes: caches revalidate by it
    t.text('source_url').notNullable(); // the WeChat URL it came from: a changed URL means a new avatar
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.alterTable('accounts', (t) => {
    // Set when an avatar is stored, so that claims know without reading the image: the
    // published `picture` carries it to change with the image.
    t.string('avatar_etag', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => t.dropColumn('avatar_etag'));
  await knex.schema.dropTable('avatars');
}
