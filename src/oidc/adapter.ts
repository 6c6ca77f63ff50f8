import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { PreparedQuery } from '../db/prepared.js';

const TABLE = 'oidc_models';

interface Row {
  payload: string;
  expires_at: string | number | null;
  consumed_at: string | number | null;
}

/** The adapter's statements, compiled once per database (see PreparedQuery). */
class Statements {
  readonly upsert: PreparedQuery<'model' | 'id' | 'payload' | 'grant_id' | 'uid' | 'user_code' | 'account_id' | 'expires_at'>;
  readonly findById: PreparedQuery<'model' | 'id'>;
  readonly findByUid: PreparedQuery<'model' | 'uid'>;
  readonly findByUserCode: PreparedQuery<'model' | 'user_code'>;
  readonly consume: PreparedQuery<'model' | 'id' | 'consumed_at'>;
  readonly destroy: PreparedQuery<'model' | 'id'>;
  readonly revokeByGrantId: PreparedQuery<'grant_id'>;

  constructor(db: Knex) {
    const COLUMNS = ['payload', 'expires_at', 'consumed_at'];
    this.upsert = new PreparedQuery(db, ['model', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'account_id', 'expires_at'],
      (row) => db(TABLE).insert(row).onConflict(['model', 'id']).merge());
    this.findById = new PreparedQuery(db, ['model', 'id'], (where) => db(TABLE).first(COLUMNS).where(where));
    this.findByUid = new PreparedQuery(db, ['model', 'uid'], (where) => db(TABLE).first(COLUMNS).where(where));
    this.findByUserCode = new PreparedQuery(db, ['model', 'user_code'], (where) => db(TABLE).first(COLUMNS).where(where));
    this.consume = new PreparedQuery(db, ['model', 'id', 'consumed_at'],
      ({ model, id, consumed_at }) => db(TABLE).where({ model, id }).update({ consumed_at }));
    this.destroy = new PreparedQuery(db, ['model', 'id'], (where) => db(TABLE).where(where).del());
    // Revoking a grant removes every artifact issued under it, whatever the model.
    this.revokeByGrantId = new PreparedQuery(db, ['grant_id'], (where) => db(TABLE).where(where).del());
  }
}

/**
 * Stores every oidc-provider model (Session, Interaction, AuthorizationCode, AccessToken,
 * RefreshToken, Grant, …) in one table keyed by (model, id), so any instance can serve any
 * step of a sign-in. The interface is oidc-provider's:
 * https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */
export class KnexAdapter implements Adapter {
  constructor(
    private readonly statements: Statements,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    await this.statements.upsert.run({
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      uid: payload.uid ?? null,
      user_code: payload.userCode ?? null,
      account_id: payload.accountId ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.statements.findById.run<Row>({ model: this.model, id }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.statements.findByUid.run<Row>({ model: this.model, uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.statements.findByUserCode.run<Row>({ model: this.model, user_code: userCode }));
  }

  async consume(id: string): Promise<void> {
    await this.statements.consume.run({ model: this.model, id, consumed_at: Date.now() });
  }

  async destroy(id: string): Promise<void> {
    await this.statements.destroy.run({ model: this.model, id });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.statements.revokeByGrantId.run({ grant_id: grantId });
  }
}

function toPayload([row]: Row[]): AdapterPayload | undefined {
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
