import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { PreparedQuery } from '../db/prepared.js';
import { WECHAT_STATE } from '../wechat/authorize-url.js';

export const STATES_TABLE = 'wechat_states';
// Longer than a WeChat code lives (5 minutes), shorter than the interaction (30 minutes).
const STATE_TTL_MS = 10 * 60 * 1000;

interface Row {
  app_id: string;
  scope: string;
}

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
  private readonly insert: PreparedQuery<'state' | 'uid' | 'app_id' | 'scope' | 'expires_at'>;
  private readonly spend: PreparedQuery<'state' | 'uid' | 'now'>;

  constructor(private readonly db: Knex) {
    // One state per interaction, app and scope: a reload of the login step gets the same one,
    // with a new lifetime, instead of another row (one statement, `returning` the state).
    this.insert = new PreparedQuery(db, ['state', 'uid', 'app_id', 'scope', 'expires_at'], ({ state, uid, app_id, scope, expires_at }) =>
      db.raw(
        'insert into ?? (state, uid, app_id, scope, expires_at) values (?, ?, ?, ?, ?) ' +
          'on conflict (uid, app_id, scope) do update set expires_at = excluded.expires_at returning state',
        [STATES_TABLE, state, uid, app_id, scope, expires_at],
      ),
    );
    // Raw SQL: knex drops RETURNING from a delete on SQLite, which supports it since 3.35.
    this.spend = new PreparedQuery(db, ['state', 'uid', 'now'], ({ state, uid, now }) =>
      db.raw('delete from ?? where state = ? and uid = ? and expires_at > ? returning app_id, scope', [STATES_TABLE, state, uid, now]),
    );
  }

  /** The state of one interaction, WeChat app and scope: issued on first use, the same one after. */
  async issue(record: StateRecord): Promise<string> {
    const fresh = randomBytes(16).toString('hex');
    const values = { state: fresh, uid: record.uid, app_id: record.appId, scope: record.scope, expires_at: Date.now() + STATE_TTL_MS };
    const [row] = await this.insert.run<{ state: string }>(values);
    return row?.state ?? fresh;
  }

  /**
   * Spends a state for this interaction. Whoever deletes the row owns the state, so two
   * copies of one callback cannot both get it: one `DELETE … RETURNING` reads and removes it
   * at once (PostgreSQL and SQLite alike), and the loser of a race gets no row. A state of
   * another interaction is refused and left alone, so a foreign callback cannot burn someone
   * else's sign-in.
   */
  async consume(state: string, uid: string): Promise<StateRecord | undefined> {
    if (!WECHAT_STATE.test(state)) return undefined;
    const [row] = await this.spend.run<Row>({ state, uid, now: Date.now() });
    return row ? { uid, appId: row.app_id, scope: row.scope } : undefined;
  }

  /** Deletes expired states a bounded batch at a time (short locks, safe on every instance). */
  async deleteExpired(batchSize = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = this.db(STATES_TABLE).select('state').where('expires_at', '<=', Date.now()).limit(batchSize);
      const deleted = await this.db(STATES_TABLE).whereIn('state', expired).del();
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
