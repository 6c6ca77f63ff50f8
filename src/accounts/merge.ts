import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { PreparedQuery } from '../db/prepared.js';
import type { RevokeAccounts } from './types.js';

interface Owner {
  id: string;
  created_at: number | string;
  disabled: boolean | number;
}

const ownerQueries = new WeakMap<Knex, PreparedQuery<'unionid'>>();

/** Up to two accounts holding `unionid` (two means a merge): asked after every first sign-in. */
function ownersOf(db: Knex): PreparedQuery<'unionid'> {
  let query = ownerQueries.get(db);
  if (!query) {
    query = new PreparedQuery(db, ['unionid'], ({ unionid }) => db('wechat_identities').distinct('account_id').where({ unionid }).limit(2));
    ownerQueries.set(db, query);
  }
  return query;
}

/**
 * One person, one account: when two accounts turn out to share a unionid (a website-app
 * sign-in registered before the Official Account identity had its unionid, or two first
 * sign-ins through different apps at the same moment), they are merged in one transaction.
 * The rule: the oldest account stays, with its `sub`; the others' identities move to it; the
 * others' sessions and tokens are revoked and the accounts deleted; if any was blocked, the
 * one that stays is blocked and its own sessions and tokens are revoked too. Returns the id of
 * the account that owns the unionid afterwards, and whether a merge happened.
 */
export async function mergeAccountsSharingUnionid(db: Knex, unionid: string, logger: Logger, revoke: RevokeAccounts): Promise<MergeResult> {
  // Nearly always one owner: one plain query settles that, without a transaction.
  const owners = await ownersOf(db).run<{ account_id: string }>({ unionid });
  if (owners.length < 2) return { owner: owners[0]?.account_id, merged: false };
  const result = await db.transaction(async (trx) => {
    const owners: Owner[] = await trx('accounts')
      .distinct('accounts.id', 'accounts.created_at', 'accounts.disabled')
      .join('wechat_identities', 'wechat_identities.account_id', 'accounts.id')
      .where('wechat_identities.unionid', unionid)
      .orderBy([{ column: 'accounts.created_at' }, { column: 'accounts.id' }]);
    const [kept, ...others] = owners;
    if (!kept || others.length === 0) return { kept: kept?.id, merged: [] as string[] };
    const merged = others.map((owner) => owner.id);
    const now = Date.now();
    await trx('wechat_identities').whereIn('account_id', merged).update({ account_id: kept.id, updated_at: now });
    // A block goes with the person: the account that stays is blocked too, and then loses
    // everything it was issued, as blocking it by hand would do.
    const inheritsBlock = !kept.disabled && others.some((owner) => Boolean(owner.disabled));
    if (inheritsBlock) await trx('accounts').where({ id: kept.id }).update({ disabled: true, updated_at: now });
    await revoke(trx, inheritsBlock ? [kept.id, ...merged] : merged);
    await trx('accounts').whereIn('id', merged).del();
    return { kept: kept.id, merged };
  });
  if (result.merged.length > 0) {
    logger.warn(
      { event: 'accounts_merged', kept: result.kept, merged: result.merged },
      'accounts sharing a unionid merged into the oldest',
    );
  }
  return { owner: result.kept, merged: result.merged.length > 0 };
}

/** The account that owns the unionid afterwards, and whether accounts were merged into it (it may have changed: blocked). */
export interface MergeResult {
  owner: string | undefined;
  merged: boolean;
}
