import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

const TABLE = 'wechat_states';
// Longer than a WeChat code lives (5 minutes), shorter than the interaction (30 minutes).
const STATE_TTL_MS = 10 * 60 * 1000;

export interface StateRecord {
  uid: string;
  appId: string;
  scope: string;
}

/**
 * The `state` sent to WeChat: 32 hex characters (safe inside WeChat, well under 128 bytes),
 * meaning nothing by itself. What it stands for stays in the database, so any instance can
 * take the callback, and a state can be spent only once.
 */
export class StateStore {
  constructor(private readonly db: Knex) {}

  async issue(record: StateRecord): Promise<string> {
    const state = randomBytes(16).toString('hex');
    await this.db(TABLE).insert({
      state,
      uid: record.uid,
      app_id: record.appId,
      scope: record.scope,
      expires_at: Date.now() + STATE_TTL_MS,
    });
    return state;
  }

  /**
   * Spends a state for this interaction. Whoever deletes the row owns the state, so two
   * copies of one callback cannot both get it (the delete's row count decides, which works
   * the same on SQLite and PostgreSQL). A state of another interaction is refused and left
   * alone, so a foreign callback cannot burn someone else's sign-in.
   */
  async consume(state: string, uid: string): Promise<StateRecord | undefined> {
    if (!/^[A-Za-z0-9]{1,128}$/.test(state)) return undefined;
    const live = () => this.db(TABLE).where({ state, uid }).andWhere('expires_at', '>', Date.now());
    const row: { app_id: string; scope: string } | undefined = await live().first('app_id', 'scope');
    if (!row) return undefined;
    const deleted = await live().del();
    return deleted === 1 ? { uid, appId: row.app_id, scope: row.scope } : undefined;
  }

  async deleteExpired(): Promise<number> {
    return this.db(TABLE).where('expires_at', '<=', Date.now()).del();
  }
}
