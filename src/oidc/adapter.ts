import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';

const TABLE = 'oidc_models';

interface Row {
  payload: string;
  expires_at: string | number | null;
  consumed_at: string | number | null;
}

/**
 * Stores every oidc-provider model (Session, Interaction, AuthorizationCode, AccessToken,
 * RefreshToken, Grant, …) in one table keyed by (model, id), so any instance can serve any
 * step of a sign-in. The interface is oidc-provider's:
 * https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */
export class KnexAdapter implements Adapter {
  constructor(
    private readonly db: Knex,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const row = {
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      uid: payload.uid ?? null,
      user_code: payload.userCode ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
    };
    await this.db(TABLE).insert(row).onConflict(['model', 'id']).merge();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.findWhere({ id });
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere({ uid });
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere({ user_code: userCode });
  }

  async consume(id: string): Promise<void> {
    await this.db(TABLE)
      .where({ model: this.model, id })
      .update({ consumed_at: Date.now() });
  }

  async destroy(id: string): Promise<void> {
    await this.db(TABLE).where({ model: this.model, id }).del();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Revoking a grant removes every artifact issued under it, whatever the model.
    await this.db(TABLE).where({ grant_id: grantId }).del();
  }

  private async findWhere(where: Record<string, string>): Promise<AdapterPayload | undefined> {
    const row: Row | undefined = await this.db(TABLE)
      .first('payload', 'expires_at', 'consumed_at')
      .where({ model: this.model, ...where });
    if (!row) return undefined;
    // Expired rows wait for the scheduled cleanup; to the provider they no longer exist.
    if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
    return payload;
  }
}

export function knexAdapterFactory(db: Knex): (model: string) => Adapter {
  return (model) => new KnexAdapter(db, model);
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
