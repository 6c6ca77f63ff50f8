import type { Knex } from 'knex';
import { executorFor, isSqlite } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { SqliteExecutor } from '../db/sqlite-executor.js';

/** What a registration stores: the new identity, and the account unless its unionid has one. */
export interface NewIdentity {
  accountId: string; // used only when no account has this unionid yet
  nickname: string;
  avatarUrl: string;
  appId: string;
  openid: string;
  unionid: string | null;
  now: number;
}

/**
 * A first sign-in's writes, all or nothing: find the account that already holds the
 * unionid, else create one; add the identity; read the account back.
 *
 * - SQLite: a transaction of prepared statements, where a statement costs no round trip.
 * - PostgreSQL: one statement (data-modifying WITH), atomic by itself: one round trip where a
 *   transaction takes six, and half the sign-ins of a growing service are first ones.
 *
 * A duplicate (app id, openid) fails the unique index either way, with nothing stored.
 */
export type Register = <Row>(identity: NewIdentity) => Promise<Row>;

/**
 * Whether two registrations can never interleave: on SQLite the one connection is held by the
 * transaction from the unionid lookup to the inserts, so a second first sign-in with the same
 * unionid (through another app, at the same moment) always finds the first one's account.
 * On PostgreSQL both may create an account; the caller merges them afterwards (merge.ts).
 */
export function registrationsAreSerialized(db: Knex): boolean {
  return isSqlite(db);
}

export function registrationFor(db: Knex): Register {
  const executor = executorFor(db);
  if (executor instanceof SqliteExecutor) return sqliteRegistration(db, executor);
  return async <Row>(identity: NewIdentity) => {
    const [row] = await executor.write<Row>(
      POSTGRES_REGISTER,
      [identity.unionid, identity.accountId, identity.nickname, identity.avatarUrl, identity.now, identity.appId, identity.openid],
      'accounts_register',
    );
    return row!;
  };
}

// $1 unionid (null: no account to join), $2 new account id, $3 nickname, $4 avatar URL,
// $5 now, $6 app id, $7 openid. The final select cannot see rows the WITH parts inserted, only
// what they return: the existing account, or the one `created` returned.
const POSTGRES_REGISTER = `
with sibling as (
  select account_id from wechat_identities where unionid = $1 order by id limit 1
), created as (
  insert into accounts (id, nickname, avatar_url, disabled, created_at, updated_at)
  select $2, $3, $4, false, $5, $5 where not exists (select 1 from sibling)
  returning *
), added as (
  insert into wechat_identities (account_id, app_id, openid, unionid, created_at, updated_at)
  select coalesce((select account_id from sibling), (select id from created)), $6, $7, $1, $5, $5
  returning account_id
)
select accounts.* from accounts where accounts.id = (select account_id from sibling)
union all
select * from created`;

function sqliteRegistration(db: Knex, executor: SqliteExecutor): Register {
  const sibling = new PreparedQuery(db, ['unionid'], ({ unionid }) =>
    db('wechat_identities').first('account_id').where({ unionid }).orderBy('id'),
  );
  const account = new PreparedQuery(db, ['id', 'nickname', 'avatar_url', 'disabled', 'created_at', 'updated_at'], (row) =>
    db('accounts').insert(row),
  );
  const identity = new PreparedQuery(db, ['account_id', 'app_id', 'openid', 'unionid', 'created_at', 'updated_at'], (row) =>
    db('wechat_identities').insert(row),
  );
  const accountById = new PreparedQuery(db, ['id'], ({ id }) => db('accounts').first().where({ id }));
  return <Row>(found: NewIdentity) =>
    executor.transaction((run) => {
      const { now, unionid } = found;
      const [owner] = unionid ? run<{ account_id: string }>(sibling.sql, sibling.bindings({ unionid })) : [];
      const accountId = owner?.account_id ?? found.accountId;
      if (!owner) {
        const row = { id: accountId, nickname: found.nickname, avatar_url: found.avatarUrl, disabled: 0, created_at: now, updated_at: now };
        run(account.sql, account.bindings(row));
      }
      const row = { account_id: accountId, app_id: found.appId, openid: found.openid, unionid, created_at: now, updated_at: now };
      run(identity.sql, identity.bindings(row));
      return run<Row>(accountById.sql, accountById.bindings({ id: accountId }))[0]!;
    });
}
