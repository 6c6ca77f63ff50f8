import type { Knex } from 'knex';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { PreparedQuery } from '../db/prepared.js';
import { HeldWrites, heldWrites, type ModelValues, type WriteSender } from './held-writes.js';
import { VALUE_COLUMNS, writeSender } from './send-writes.js';
import { MODELS_TABLE, revokeGrant } from './stored-rows.js';

type ValueColumn = (typeof VALUE_COLUMNS)[number];

/** A provider row as stored (the columns the adapter reads back). */
interface StoredModel {
  payload: string;
  expires_at: string | number | null;
  consumed_at: string | number | null;
}

/** The adapter's statements, compiled once per database (see PreparedQuery). */
class Statements {
  readonly upsert: PreparedQuery<ValueColumn>;
  readonly findById: PreparedQuery<'model' | 'id'>;
  readonly findByUid: PreparedQuery<'model' | 'uid'>;
  readonly findByUserCode: PreparedQuery<'model' | 'user_code'>;
  readonly consume: PreparedQuery<'model' | 'id' | 'consumed_at'>;
  readonly destroy: PreparedQuery<'model' | 'id'>;
  readonly revokeByGrantId: PreparedQuery<'model' | 'grant_id'>;
  private readonly send: WriteSender;

  constructor(readonly db: Knex) {
    const stored = ['payload', 'expires_at', 'consumed_at'];
    this.upsert = new PreparedQuery(db, VALUE_COLUMNS, (row) => db(MODELS_TABLE).insert(row).onConflict(['model', 'id']).merge());
    this.findById = new PreparedQuery(db, ['model', 'id'], (where) => db(MODELS_TABLE).first(stored).where(where));
    this.findByUid = new PreparedQuery(db, ['model', 'uid'], (where) => db(MODELS_TABLE).first(stored).where(where));
    this.findByUserCode = new PreparedQuery(db, ['model', 'user_code'], (where) => db(MODELS_TABLE).first(stored).where(where));
    // Spent only if nobody spent it before: of two requests using one code at the same
    // moment, exactly one changes the row (see KnexAdapter.consume).
    this.consume = new PreparedQuery(db, ['model', 'id', 'consumed_at'], ({ model, id, consumed_at }) =>
      db(MODELS_TABLE).where({ model, id }).whereNull('consumed_at').update({ consumed_at }).returning('id'),
    );
    this.destroy = new PreparedQuery(db, ['model', 'id'], (where) => db(MODELS_TABLE).where(where).del());
    // oidc-provider revokes a grant model by model (tokens and codes). Only that model's rows
    // go: an interaction names the grant it will extend, and one in flight must outlive the
    // grant's revocation (someone else signing in on a browser ends the old session, and its
    // grants, before resuming that interaction).
    this.revokeByGrantId = new PreparedQuery(db, ['model', 'grant_id'], (where) => db(MODELS_TABLE).where(where).del());
    this.send = writeSender(db, MODELS_TABLE);
  }

  /** This request's held writes (see held-writes.ts); undefined outside a request (commands, the cleanup). */
  held(): HeldWrites | undefined {
    return heldWrites(() => new HeldWrites(this.send));
  }
}

/**
 * Stores every oidc-provider model (Session, Interaction, AuthorizationCode, AccessToken,
 * RefreshToken, Grant, …) in one table keyed by (model, id), so any instance can serve any
 * step of a sign-in. Exactly oidc-provider's Adapter interface:
 * https://github.com/panva/node-oidc-provider/blob/v9.13.3/example/my_adapter.js
 *
 * Reads go to the database. Within an HTTP request, upserts and destroys are held and sent
 * together before the answer leaves (held-writes.ts); a read of a row the request wrote
 * answers what it wrote.
 *
 * Besides the payload, a row keeps the columns it is looked up or revoked by: `grant_id`,
 * `uid`, `user_code`, the `account_id` and `session_uid` it belongs to (properties of the
 * payloads that example documents), and when it expires.
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
      account_id: payload.accountId ?? null,
      session_uid: payload.sessionUid ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
    };
    const held = this.statements.held();
    if (held) held.upsert(values);
    else await this.statements.upsert.run(values);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const written = this.statements.held()?.written(this.model, id);
    if (written !== undefined) return written ? toPayload([asStored(written)]) : undefined;
    return toPayload(await this.statements.findById.run<StoredModel>({ model: this.model, id }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const held = this.statements.held();
    const written = held?.writtenByUid(this.model, uid);
    if (written) return toPayload([asStored(written)]);
    if (held?.holdsDestroyOf(this.model)) await held.flush();
    return toPayload(await this.statements.findByUid.run<StoredModel>({ model: this.model, uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    await this.statements.held()?.flush();
    return toPayload(await this.statements.findByUserCode.run<StoredModel>({ model: this.model, user_code: userCode }));
  }

  /**
   * Marks a code or refresh token used, at once. oidc-provider reads the row, checks it is
   * unused, then calls this: two requests with the same code at the same moment both pass its
   * check, and only the statement can tell them apart. The one that changes no row is a
   * reuse, as oidc-provider treats a later one: it revokes the grant and gets
   * `invalid_grant`. The other request's tokens then die with the grant: stored before, they
   * are deleted; held, they are never stored (send-writes.ts) and it gets `invalid_grant` too.
   */
  async consume(id: string): Promise<void> {
    await this.statements.held()?.flush();
    const spent = await this.statements.consume.run({ model: this.model, id, consumed_at: Date.now() });
    if (spent.length > 0) return;
    const row = await this.statements.db(MODELS_TABLE).first('grant_id').where({ model: this.model, id });
    if (row?.grant_id) await revokeGrant(this.statements.db, row.grant_id);
    throw new errors.InvalidGrant('grant request is invalid');
  }

  async destroy(id: string): Promise<void> {
    if (this.model === 'Grant') {
      // At once, and with every code and token issued under it: oidc-provider revokes those
      // model by model and the grant alongside, and a token stored in between (by a request
      // that found the grant still there) would otherwise be left behind without it.
      await this.statements.held()?.flush();
      await revokeGrant(this.statements.db, id);
      return;
    }
    const held = this.statements.held();
    if (held) held.destroy(this.model, id);
    else await this.statements.destroy.run({ model: this.model, id });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // At once, after whatever this request holds (a held token of this grant goes too).
    await this.statements.held()?.flush();
    await this.statements.revokeByGrantId.run({ model: this.model, grant_id: grantId });
  }
}

/** A row this request wrote, as it will be stored (a write never sets `consumed_at`). */
const asStored = (values: ModelValues): StoredModel => ({ payload: values.payload, expires_at: values.expires_at, consumed_at: null });

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
