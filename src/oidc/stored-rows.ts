import type { Knex } from 'knex';
import { recordLogoutNotices } from './logout-notices.js';

/**
 * The one table every oidc-provider model is stored in (adapter.ts), and what is done to its
 * rows in bulk. Kept apart from the adapter so that operator commands load no oidc-provider.
 */
export const MODELS_TABLE = 'oidc_models';

/** Deletes expired provider rows, a bounded batch at a time; returns how many went. */
export async function deleteExpiredModels(db: Knex, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = db(MODELS_TABLE).select('model', 'id').where('expires_at', '<=', Date.now()).limit(batchSize);
    const deleted = await db(MODELS_TABLE).whereIn(['model', 'id'], ids).del();
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/**
 * Deletes every provider row that belongs to these accounts: their sessions (they are signed
 * out everywhere), grants, authorization codes, access and refresh tokens, and records a
 * back-channel logout notice for each app concerned. Returns how many rows went. Run inside
 * the caller's transaction, with the change that calls for it (a block, a merge). `keepSession`: the uid of one session to leave, the one a sign-in in progress is
 * about to replace.
 */
export async function revokeAccounts(db: Knex, accountIds: string[], options: { keepSession?: string } = {}): Promise<number> {
  if (accountIds.length === 0) return 0;
  // Their apps are told (back-channel logout), from the sessions and grants about to go.
  await recordLogoutNotices(db, accountIds, MODELS_TABLE);
  // The grants first, in a statement of their own: a request in flight that holds tokens of
  // one either stored them before (the second statement, which sees them, deletes them) or
  // finds its grant gone and stores nothing (send-writes.ts).
  const grants = await db(MODELS_TABLE).whereIn('account_id', accountIds).where({ model: 'Grant' }).del();
  const rows = db(MODELS_TABLE).whereIn('account_id', accountIds);
  if (options.keepSession) rows.whereNot((kept) => void kept.where({ model: 'Session', uid: options.keepSession }));
  return grants + (await rows.del());
}

/**
 * Revokes one grant and every code and token issued under it, as oidc-provider does when a
 * code or refresh token is used again; grant row first, for the reason given above. An
 * interaction naming the grant stays: it may be a sign-in under way that will replace it.
 */
export async function revokeGrant(db: Knex, grantId: string): Promise<void> {
  await db(MODELS_TABLE).where({ model: 'Grant', id: grantId }).del();
  await db(MODELS_TABLE).where({ grant_id: grantId }).whereNot({ model: 'Interaction' }).del();
}
