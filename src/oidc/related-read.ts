import type { Knex } from 'knex';
import { isSqlite } from '../db/executor.js';
import type { StoredModel } from './model-unit.js';

const TABLE = 'oidc_models';

/** A row and, read in the same statement, the session, the grant and the account it belongs
 * to (one row per identity of the account). */
export interface RowWithRelated extends StoredModel {
  session_uid: string | null;
  grant_id: string | null;
  s_id: string | null;
  s_payload: string | null;
  s_expires_at: string | number | null;
  s_consumed_at: string | number | null;
  g_id: string | null;
  g_payload: string | null;
  g_expires_at: string | number | null;
  g_consumed_at: string | number | null;
  account_id: string | null;
  a_id: string | null;
  a_nickname: string;
  a_avatar_url: string;
  a_avatar_etag: string | null;
  a_disabled: boolean | number;
  a_created_at: number | string;
  a_updated_at: number | string;
  i_app_id: string | null;
  i_openid: string | null;
  i_unionid: string | null;
}

/**
 * A row of `model` and, in the same statement, its session, its grant (the row whose id
 * `grantId` gives) and its account with the account's identities. A row that names no
 * account (an interaction before its login step is done) comes with its session's: when the
 * person signing in again is the one the browser was signed in as, the login step finds
 * their account without asking the database (AccountStore.findForSignIn).
 */
export function readWithRelated(db: Knex, model: string, id: string, grantId: string | Knex.Raw): Knex.QueryBuilder {
  return db({ t: TABLE })
    .select(
      't.payload', 't.expires_at', 't.consumed_at', 't.session_uid', 't.grant_id', db.raw('coalesce(t.account_id, s.account_id) as account_id'),
      's.id as s_id', 's.payload as s_payload', 's.expires_at as s_expires_at', 's.consumed_at as s_consumed_at',
      'g.id as g_id', 'g.payload as g_payload', 'g.expires_at as g_expires_at', 'g.consumed_at as g_consumed_at',
      'a.id as a_id', 'a.nickname as a_nickname', 'a.avatar_url as a_avatar_url', 'a.avatar_etag as a_avatar_etag',
      'a.disabled as a_disabled', 'a.created_at as a_created_at', 'a.updated_at as a_updated_at',
      'i.app_id as i_app_id', 'i.openid as i_openid', 'i.unionid as i_unionid',
    )
    .leftJoin({ s: TABLE }, (on) => on.on('s.uid', 't.session_uid').andOnVal('s.model', 'Session'))
    .leftJoin({ g: TABLE }, (on) => (typeof grantId === 'string' ? on.on('g.id', grantId) : on.on('g.id', grantId)).andOnVal('g.model', 'Grant'))
    .leftJoin({ a: 'accounts' }, 'a.id', db.raw('coalesce(t.account_id, s.account_id)'))
    .leftJoin({ i: 'wechat_identities' }, 'i.account_id', 'a.id')
    .where({ 't.model': model, 't.id': id })
    .orderBy('i.id');
}

/**
 * `authorizations[clientId].grantId` of the session row `t`, in SQL: oidc-provider's Session
 * keeps the grant of each app there. The app's id is a value, never part of a path (JSON
 * path syntax would read dots or brackets in it).
 */
export function grantIdInSession(db: Knex, clientId: string): Knex.Raw {
  return isSqlite(db)
    ? db.raw(`json_extract(t.payload, '$.authorizations.' || json_quote(?) || '.grantId')`, [clientId])
    : db.raw(`(t.payload::json -> 'authorizations' -> ?::text ->> 'grantId')`, [clientId]);
}

/**
 * A statement of another store that a request sends with the read of a provider row: on
 * PostgreSQL in the same statement (a data-modifying WITH), one round trip instead of two.
 * It must return rows (`returning …`); they come back with the row, as JSON. SQLite has no
 * data-modifying WITH, and a second statement there costs no round trip: it runs on its own.
 */
export interface StatementAlong<Name extends string = string> {
  /** Tells statements apart: each gets its combined statement, compiled once. */
  readonly key: string;
  readonly names: readonly Name[];
  /** Builds it with a marker for each value, as PreparedQuery's `build` does. */
  build(values: Record<Name, string>): Knex.Raw;
}

/** `query` with `along` in front of it, its returned rows in the column `along_rows` (JSON text). */
export function withStatementAlong(db: Knex, query: Knex.QueryBuilder, along: Knex.Raw): Knex.QueryBuilder {
  return query.with('along', along).select(db.raw('(select json_agg(along) from along)::text as along_rows'));
}
