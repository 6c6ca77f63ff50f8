import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { PreparedQuery } from '../db/prepared.js';
import { isSqlite } from '../db/executor.js';
import { currentScope } from '../db/request-scope.js';
import { ACCOUNT_READ_AHEAD, IDENTITY_READ_AHEAD, identityKey, type AccountWithIdentityRow } from '../accounts/store.js';
import { ModelUnit, type HeldWrite, type ModelValues, type StoredModel } from './model-unit.js';
import { modelSender, VALUE_COLUMNS } from './model-send.js';
import { grantIdInSession, readWithRelated, withStatementAlong, type RowWithRelated, type StatementAlong } from './related-read.js';

const TABLE = 'oidc_models';

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
  readonly revokeByGrantId: PreparedQuery<'model' | 'grant_id'>;
  /** Sends a request's held writes (see ModelUnit). */
  readonly send: (writes: HeldWrite[]) => Promise<void>;

  constructor(private readonly db: Knex) {
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
    // oidc-provider revokes a grant model by model (tokens and codes). Only that model's rows
    // go: an interaction names the grant it will extend, and one in flight must outlive the
    // grant's revocation (someone else signing in on a browser ends the old session, and its
    // grants, before resuming that interaction).
    this.revokeByGrantId = new PreparedQuery(db, ['model', 'grant_id'], (where) => db(TABLE).where(where).del());
    this.send = modelSender(db, this.upsert, this.destroy);
  }

  private readonly combined = new Map<string, { along: PreparedQuery<string>; withRead?: PreparedQuery<string> }>();

  /** `along` by itself, and (PostgreSQL) sent with the joined read of a row; compiled on first use. */
  statementsAlong(along: StatementAlong): { along: PreparedQuery<string>; withRead?: PreparedQuery<string> } {
    let compiled = this.combined.get(along.key);
    if (!compiled) {
      const { db } = this;
      compiled = {
        along: new PreparedQuery(db, along.names, along.build),
        withRead: isSqlite(db) ? undefined : new PreparedQuery(db, ['model', 'id', ...along.names],
          (values) => withStatementAlong(db, readWithRelated(db, values.model!, values.id!, 't.grant_id'), along.build(values))),
      };
      this.combined.set(along.key, compiled);
    }
    return compiled;
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
   * Reads a row ahead, as findAhead does, and sends another store's statement with it (see
   * StatementAlong): the rows that statement returned. On PostgreSQL, where both are one
   * statement, a row that does not exist brings back nothing, although `along` ran.
   */
  async findAheadWith<Name extends string>(id: string, along: StatementAlong<Name>, values: Record<Name, unknown>): Promise<Record<string, unknown>[]> {
    const unit = this.statements.unit();
    const { along: alone, withRead } = this.statements.statementsAlong(along as StatementAlong);
    if (!unit || !withRead || unit.consumeHeld(this.model, id) || unit.known(this.model, id) !== undefined) {
      const rows = await alone.run<Record<string, unknown>>(values);
      if (unit) await this.read(id, true);
      return rows;
    }
    const rows = await withRead.run<RowWithRelated & { along_rows: string | null }>({ ...values, model: this.model, id });
    unit.rememberById(this.model, id, rows[0] ?? null);
    rememberRelated(unit, rows, rows[0]?.grant_id ?? null);
    return rows[0]?.along_rows ? (JSON.parse(rows[0].along_rows) as Record<string, unknown>[]) : [];
  }

  /**
   * Holds another store's write (see StatementAlong) to be sent with this request's model
   * writes: one statement on PostgreSQL, one savepoint on SQLite. False outside a request or
   * once its writes are sent: the caller then runs it itself.
   */
  holdAlong<Name extends string>(along: StatementAlong<Name>, values: Record<Name, unknown>): boolean {
    const unit = this.statements.unit();
    if (!unit) return false;
    unit.along(this.statements.statementsAlong(along as StatementAlong).along, values);
    return true;
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
    await this.statements.revokeByGrantId.run({ model: this.model, grant_id: grantId });
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
  const scope = currentScope();
  scope?.remember(ACCOUNT_READ_AHEAD, accountId, accountRows);
  for (const row of accountRows) {
    if (row.app_id !== null && row.openid !== null) scope?.remember(IDENTITY_READ_AHEAD, identityKey(row.app_id, row.openid), accountRows);
  }
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
