import type { Knex } from 'knex';
import { revokeAccount } from '../oidc/adapter.js';

export interface BlockResult {
  /** false: no account has this `sub`. */
  found: boolean;
  /** Provider rows deleted: sessions, grants, codes, access and refresh tokens. */
  revoked: number;
}

/**
 * Blocks an account: its sign-ins end in `access_denied`, and in the same transaction every
 * session and token it holds is deleted, so apps lose access at once (refresh and userinfo
 * fail, the next authorization request finds no session). A sign-in already past WeChat at
 * that moment gets no tokens either: the provider asks for the account when it issues them,
 * and a blocked account yields none (find-account.ts).
 */
export async function blockAccount(db: Knex, sub: string): Promise<BlockResult> {
  return db.transaction(async (trx) => {
    const updated = await trx('accounts').where({ id: sub }).update({ disabled: true, updated_at: Date.now() });
    if (updated === 0) return { found: false, revoked: 0 };
    return { found: true, revoked: await revokeAccount(trx, sub) };
  });
}

/** Lets a blocked account sign in again; nothing else changes (revoked tokens stay revoked). */
export async function unblockAccount(db: Knex, sub: string): Promise<{ found: boolean }> {
  const updated = await db('accounts').where({ id: sub }).update({ disabled: false, updated_at: Date.now() });
  return { found: updated > 0 };
}
