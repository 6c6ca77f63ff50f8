import type { Knex } from 'knex';

// A desktop sign-in confirmed on a phone through the Official Account: the link its QR code
// holds, and how far the phone got. Any instance may serve the computer's polling and the
// phone's steps (src/interaction/phone-links.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('phone_sign_ins', (t) => {
    t.string('token', 64).primary(); // the random part of the link; hex
    t.string('uid', 64).notNullable().unique('phone_sign_ins_uid_unique'); // one link per interaction: a new QR replaces it
    t.string('match_code', 8).notNullable();
    t.string('status', 16).notNullable(); // waiting, scanned, confirming, allowed, denied
    t.string('account_id').nullable(); // whom the phone signed in as
    t.string('desktop_browser', 120).notNullable(); // shown on the phone: which browser asks
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at'], 'phone_sign_ins_expires_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('phone_sign_ins');
}
