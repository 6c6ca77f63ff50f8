import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { PreparedQuery } from '../db/prepared.js';
import { isSqlite } from '../db/executor.js';
import { currentScope } from '../db/request-scope.js';
import { ACCOUNT_READ_AHEAD, type AccountWithIdentityRow } from '../accounts/store.js';
import { ModelUnit, type HeldWrite, type ModelValues, type StoredModel } from './model-unit.js';
import { modelSender, VALUE_COLUMNS } from './model-send.js';

const TABLE = 'oidc_models';


/** A row and, read in the same statement, the session, the grant and the account it belongs
 * to (one row per identity of the account). */
interface RowWithRelated extends StoredModel {
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
 * `grantId` gives) and its account with the account's identities.
 */
function readWithRelated(db: Knex, model: string, id: string, grantId: string | Knex.Raw): Knex.QueryBuilder {
  return db({ t: TABLE })
    .select(
      't.payload', 't.expires_at', 't.consumed_at', 't.session_uid', 't.grant_id', 't.account_id',
      's.id as s_id', 's.payload as s_payload', 's.expires_at as s_expires_at', 's.consumed_at as s_consumed_at',
      'g.id as g_id', 'g.payload as g_payload', 'g.expires_at as g_expires_at', 'g.consumed_at as g_consumed_at',
      'a.id as a_id', 'a.nickname as a_nickname', 'a.avatar_url as a_avatar_url', 'a.avatar_etag as a_avatar_etag',
      'a.disabled as a_disabled', 'a.created_at as a_created_at', 'a.updated_at as a_updated_at',
      'i.app_id as i_app_id', 'i.openid as i_openid', 'i.unionid as i_unionid',
    )
    .leftJoin({ s: TABLE }, (on) => on.on('s.uid', 't.session_uid').andOnVal('s.model', 'Session'))
    .leftJoin({ g: TABLE }, (on) => (typeof grantId === 'string' ? on.on('g.id', grantId) : on.on('g.id', grantId)).andOnVal('g.model', 'Grant'))
    .leftJoin({ a: 'accounts' }, 'a.id', 't.account_id')
    .leftJoin({ i: 'wechat_identities' }, 'i.account_id', 'a.id')
    .where({ 't.model': model, 't.id': id })
    .orderBy('i.id');
}

/**
 * `authorizations[clientId].grantId` of the session row `t`, in SQL: oidc-provider's Session
 * keeps the grant of each app there. The app's id is a value, never part of a path (JSON
 * path syntax would read dots or brackets in it).
 */
function grantIdInSession(db: Knex, clientId: string): Knex.Raw {
  return isSqlite(db)
    ? db.raw(`json_extract(t.payload, '$.authorizations.' || json_quote(?) || '.grantId')`, [clientId])
    : db.raw(`(t.payload::json -> 'authorizations' -> ?::text ->> 'grantId')`, [clientId]);
}

/** The adapter's statements, compiled once per database (see PreparedQuery). */
class Statements {
  readonly upsert: PreparedQuery<(typeof VALUE_COLUMNS)[number]>;
  readonly findById: PreparedQuery<'model' | 'id'>;
  readonly findWithRelated: PreparedQuery<'model' | 'id'>;
  readonly findSessionWithGrant: PreparedQuery<'id' | 'client_id'>;
  readonly findByUid: PreparedQuery<'model' | 'uid'>;
  readonly findByUserCode: PreparedQuery<'model' | 'user_code'>;
  readonly consume: PreparedQuery<'model' | 'id' | 'consumed_at'>;
  readonly destroy: PreparedQuery<'model' | 'id'>;
  readonly revokeByGrantId: PreparedQuery<'grant_id'>;
  /** Sends a request's held writes (see ModelUnit). */
  readonly send: (writes: HeldWrite[]) => Promise<void>;

  constructor(db: Knex) {
    const COLUMNS = ['payload', 'expires_at', 'consumed_at'];
    this.upsert = new PreparedQuery(db, VALUE_COLUMNS, (row) => db(TABLE).insert(row).onConflict(['model', 'id']).merge());
    this.findById = new PreparedQuery(db, ['model', 'id'], (where) => db(TABLE).first(COLUMNS).where(where));
    // Tokens, codes, sessions and interactions name their session (by uid), their grant and
    // their account, and oidc-provider reads those right after the row itself (findAccount
    // included): one statement reads them all, one row per identity of the account.
    this.findWithRelated = new PreparedQuery(db, ['model', 'id'], ({ model, id }) => readWithRelated(db, model, id, 't.grant_id'));
    // A session names its grant for each app only inside its payload (`authorizations`); the
    // authorization endpoint reads the session, then the grant for the app asking.
    this.findSessionWithGrant = new PreparedQuery(db, ['id', 'client_id'], ({ id, client_id }) => readWithRelated(db, 'Session', id, grantIdInSession(db, client_id)));
    this.findByUid = new PreparedQuery(db, ['model', 'uid'], (where) => db(TABLE).first(COLUMNS).where(where));
    this.findByUserCode = new PreparedQuery(db, ['model', 'user_code'], (where) => db(TABLE).first(COLUMNS).where(where));
    this.consume = new PreparedQuery(db, ['model', 'id', 'consumed_at'],
      ({ model, id, consumed_at }) => db(TABLE).where({ model, id }).update({ consumed_at }));
    this.destroy = new PreparedQuery(db, ['model', 'id'], (where) => db(TABLE).where(where).del());
    // Revoking a grant removes every artifact issued under it, whatever the model.
    this.revokeByGrantId = new PreparedQuery(db, ['grant_id'], (where) => db(TABLE).where(where).del());
    this.send = modelSender(db, this.upsert, this.destroy);
  }

  /** This request's unit of the adapter, when there is a request (not for commands or the cleanup). */
  unit(): ModelUnit | undefined {
    return currentScope()?.unit(this, () => new ModelUnit(this.send));
  }
}

/**
 * Stores every oidc-provider model (Session, Interaction, AuthorizationCode, AccessToken,
 * RefreshToken, Grant, …) in one table keyed by (model, id), so any instance can serve any
 * step of a sign-in. The interface is oidc-provider's:
 * https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 *
 * During an HTTP request, upserts, destroys and the spending of codes and refresh tokens are
 * held and sent together when the request is done, before it is answered, and a row's
 * session, grant and account are read with it (see RequestScope, ModelUnit, model-send.ts);
 * outside a request every call goes to the database at once.
 */
export class KnexAdapter implements Adapter {
  constructor(
    private readonly statements: Statements,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const values: ModelValues = {
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      uid: payload.uid ?? null,
      user_code: payload.userCode ?? null,
      // An interaction names the account its login step settled on: oidc-provider reads that
      // account right after the interaction when the sign-in resumes.
      account_id: payload.accountId ?? payload.result?.login?.accountId ?? null,
      // Tokens and codes name their session's uid; an interaction holds its session's.
      session_uid: payload.sessionUid ?? (payload.session as { uid?: string } | undefined)?.uid ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
    };
    const unit = this.statements.unit();
    if (unit?.consumeHeld(this.model, id)) await unit.flush();
    if (unit) return unit.upsert(values);
    await this.statements.upsert.run(values);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.read(id, false);
  }

  /**
   * Reads a row (and what is read with it) before oidc-provider asks, and keeps the row
   * itself for this request's later `find` too (see read-ahead.ts).
   */
  async findAhead(id: string): Promise<void> {
    await this.read(id, true);
  }

  /**
   * The browser's session, read before oidc-provider asks for it on the authorization
   * endpoint, with the grant it holds for `clientId` and its account (see read-ahead.ts).
   */
  async findSessionAhead(id: string, clientId: string): Promise<void> {
    const unit = this.statements.unit();
    if (!unit || unit.consumeHeld(this.model, id) || unit.known(this.model, id) !== undefined) return;
    const rows = await this.statements.findSessionWithGrant.run<RowWithRelated>({ id, client_id: clientId });
    unit.rememberById(this.model, id, rows[0] ?? null);
    // No grant found: the session may name none for this app, or one that is gone; a later
    // lookup asks the database, as it would have anyway.
    rememberRelated(unit, rows, rows[0]?.g_id ?? null);
  }

  private async read(id: string, keep: boolean): Promise<AdapterPayload | undefined> {
    const unit = this.statements.unit();
    if (!unit) return toPayload(await this.statements.findById.run<StoredModel>({ model: this.model, id }));
    if (unit.consumeHeld(this.model, id)) await unit.flush();
    const known = unit.known(this.model, id);
    if (known !== undefined) return toPayload(known ? [known] : []);
    const rows = await this.statements.findWithRelated.run<RowWithRelated>({ model: this.model, id });
    const [row] = rows;
    if (keep) unit.rememberById(this.model, id, row ?? null);
    else unit.noteRead(this.model, id, row ?? null);
    rememberRelated(unit, rows, row?.grant_id ?? null);
    return toPayload(row ? [row] : []);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const unit = this.statements.unit();
    if (unit) {
      const known = unit.knownByUid(this.model, uid);
      if (known !== undefined) return toPayload(known ? [known] : []);
      if (unit.mustSendBeforeUidLookup(this.model)) await unit.flush();
    }
    return toPayload(await this.statements.findByUid.run<StoredModel>({ model: this.model, uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    // Device codes: rare, and looked up by a column no held write is indexed by; send first.
    await this.statements.unit()?.flush();
    return toPayload(await this.statements.findByUserCode.run<StoredModel>({ model: this.model, user_code: userCode }));
  }

  async consume(id: string): Promise<void> {
    const at = Date.now();
    const unit = this.statements.unit();
    // Held, and sent first with the request's other writes, on condition that nobody spent
    // it meanwhile (see model-send.ts); at once when the row has other writes held.
    if (unit?.consume(this.model, id, at)) return;
    await unit?.flush();
    await this.statements.consume.run({ model: this.model, id, consumed_at: at });
    unit?.noteConsumed(this.model, id, at);
  }

  async destroy(id: string): Promise<void> {
    const unit = this.statements.unit();
    if (unit?.consumeHeld(this.model, id)) await unit.flush();
    if (unit) return unit.destroy(this.model, id);
    await this.statements.destroy.run({ model: this.model, id });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // At once, after whatever this request holds (a held token of this grant goes too).
    const unit = this.statements.unit();
    await unit?.flush();
    await this.statements.revokeByGrantId.run({ grant_id: grantId });
    unit?.forgetAllReadAhead();
  }
}

/** What was read with a row (`rows`, one per identity of its account): kept for the rest of the request. */
function rememberRelated(unit: ModelUnit, rows: RowWithRelated[], grantId: string | null): void {
  const [row] = rows;
  if (!row) return;
  if (row.session_uid) {
    const session = row.s_id ? { payload: row.s_payload!, expires_at: row.s_expires_at, consumed_at: row.s_consumed_at } : null;
    unit.rememberByUid('Session', row.session_uid, session);
    if (row.s_id) unit.rememberById('Session', row.s_id, session);
  }
  if (grantId) {
    unit.rememberById('Grant', grantId, row.g_id === null ? null : { payload: row.g_payload!, expires_at: row.g_expires_at, consumed_at: row.g_consumed_at });
  }
  if (row.account_id) rememberAccount(row.account_id, row.a_id ? rows : []);
}

/** The account read with a row, handed to the account store for findAccount (see store.ts). */
function rememberAccount(accountId: string, rows: RowWithRelated[]): void {
  const accountRows: AccountWithIdentityRow[] = rows.map((row) => ({
    id: row.a_id!,
    nickname: row.a_nickname,
    avatar_url: row.a_avatar_url,
    avatar_etag: row.a_avatar_etag,
    disabled: row.a_disabled,
    created_at: row.a_created_at,
    updated_at: row.a_updated_at,
    app_id: row.i_app_id,
    openid: row.i_openid,
    unionid: row.i_unionid,
  }));
  // No rows: the account is gone (deleted or merged away), which findAccount must see too.
  currentScope()?.remember(ACCOUNT_READ_AHEAD, accountId, accountRows);
}

function toPayload([row]: StoredModel[]): AdapterPayload | undefined {
  if (!row) return undefined;
  // Expired rows wait for the scheduled cleanup; to the provider they no longer exist.
  if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
  return payload;
}

export function knexAdapterFactory(db: Knex): (model: string) => Adapter {
  const statements = new Statements(db);
  return (model) => new KnexAdapter(statements, model);
}

/** Deletes expired provider rows, a bounded batch at a time; returns how many went. */
export async function deleteExpiredModels(db: Knex, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = db(TABLE)
      .select('model', 'id')
      .where('expires_at', '<=', Date.now())
      .limit(batchSize);
    const deleted = await db(TABLE).whereIn(['model', 'id'], ids).del();
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/**
 * Deletes every provider row that belongs to an account: its sessions (it is signed out
 * everywhere), grants, authorization codes, access and refresh tokens. Returns how many went.
 */
export async function revokeAccount(db: Knex, accountId: string): Promise<number> {
  return db(TABLE).where({ account_id: accountId }).del();
}
