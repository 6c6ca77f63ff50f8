import type { Knex } from 'knex';
import type { RevokeAccounts } from './types.js';

export interface BlockResult {
  /** false: no account has this `sub`. */
  found: boolean;
  /** Records revoked: sessions, grants, codes, access and refresh tokens. */
  revoked: number;
  /** The account was blocked already: nothing changed, nothing was revoked. */
  alreadyBlocked?: true;
}

/**
 * Blocks an account: its sign-ins end in `access_denied`, and in the same transaction every
 * session and token it holds is deleted, so apps lose access at once (refresh and userinfo
 * fail, the next authorization request finds no session). A sign-in already past WeChat at
 * that moment gets no tokens either: the provider asks for the account when it issues them,
 * and a blocked account yields none (find-account.ts).
 *
 * Blocking a blocked account changes nothing: it could not sign in or get tokens since it
 * was blocked, so there is nothing new to revoke.
 */
export async function blockAccount(db: Knex, sub: string, revoke: RevokeAccounts): Promise<BlockResult> {
  return db.transaction(async (trx) => {
    const updated = await trx('accounts').where({ id: sub, disabled: false }).update({ disabled: true, updated_at: Date.now() });
    if (updated > 0) return { found: true, revoked: await revoke(trx, [sub]) };
    const exists = await trx('accounts').first('id').where({ id: sub });
    return exists ? { found: true, revoked: 0, alreadyBlocked: true } : { found: false, revoked: 0 };
  });
}

/** Lets a blocked account sign in again; nothing else changes (revoked tokens stay revoked). */
export async function unblockAccount(db: Knex, sub: string): Promise<{ found: boolean; alreadyActive?: true }> {
  const updated = await db('accounts').where({ id: sub, disabled: true }).update({ disabled: false, updated_at: Date.now() });
  if (updated > 0) return { found: true };
  const exists = await db('accounts').first('id').where({ id: sub });
  return exists ? { found: true, alreadyActive: true } : { found: false };
}
