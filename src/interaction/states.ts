import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { PreparedQuery } from '../db/prepared.js';
import type { KnexAdapter } from '../oidc/adapter.js';
import type { StatementAlong } from '../oidc/related-read.js';

const TABLE = 'wechat_states';
// Longer than a WeChat code lives (5 minutes), shorter than the interaction (30 minutes).
const STATE_TTL_MS = 10 * 60 * 1000;

interface Row { app_id: string; scope: string }

type IssueValues = 'state' | 'uid' | 'app_id' | 'scope' | 'expires_at';
type SpendValues = 'state' | 'uid' | 'now';

/** The provider's Interaction adapter: reads an interaction ahead with another statement. */
export type InteractionReader = Pick<KnexAdapter, 'findAheadWith'>;
/** The provider's adapter: holds another statement with the request's model writes. */
export type ModelWriter = Pick<KnexAdapter, 'holdAlong'>;

const WELL_FORMED = /^[A-Za-z0-9]{1,128}$/;

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
  private readonly insert: PreparedQuery<IssueValues>;
  private readonly spend: PreparedQuery<SpendValues>;
  /** The same two statements, to send with the read of their interaction (KnexAdapter.findAheadWith). */
  private readonly insertAlong: StatementAlong<IssueValues>;
  private readonly spendAlong: StatementAlong<SpendValues>;

  constructor(private readonly db: Knex) {
    const names = { insert: ['state', 'uid', 'app_id', 'scope', 'expires_at'] as const, spend: ['state', 'uid', 'now'] as const };
    // Raw SQL: knex drops RETURNING on SQLite, which supports it since 3.35.
    this.insertAlong = { key: 'wechat_state_insert', names: names.insert, build: ({ state, uid, app_id, scope, expires_at }) => db.raw(
      'insert into ?? (state, uid, app_id, scope, expires_at) values (?, ?, ?, ?, ?) returning state',
      [TABLE, state, uid, app_id, scope, expires_at],
    ) };
    this.spendAlong = { key: 'wechat_state_spend', names: names.spend, build: ({ state, uid, now }) => db.raw(
      'delete from ?? where state = ? and uid = ? and expires_at > ? returning app_id, scope',
      [TABLE, state, uid, now],
    ) };
    this.insert = new PreparedQuery(db, names.insert, this.insertAlong.build);
    this.spend = new PreparedQuery(db, names.spend, this.spendAlong.build);
  }

  /**
   * Issues a state. With `heldWith`, the provider's adapter in a request that writes its
   * interaction, the state is stored with that write (one statement on PostgreSQL), before
   * the request is answered.
   */
  async issue(record: StateRecord, heldWith?: ModelWriter): Promise<string> {
    const values = this.newState(record);
    if (!heldWith?.holdAlong(this.insertAlong, values)) await this.insert.run(values);
    return values.state;
  }

  /**
   * Issues a state with the read of its interaction, in one statement on PostgreSQL. Only
   * for a request whose signed interaction cookie names `record.uid`.
   */
  async issueReadingInteraction(record: StateRecord, interactions: InteractionReader): Promise<string> {
    const values = this.newState(record);
    await interactions.findAheadWith(record.uid, this.insertAlong, values);
    return values.state;
  }

  private newState(record: StateRecord): Record<IssueValues, string | number> & { state: string } {
    return {
      state: randomBytes(16).toString('hex'),
      uid: record.uid,
      app_id: record.appId,
      scope: record.scope,
      expires_at: Date.now() + STATE_TTL_MS,
    };
  }

  /**
   * Spends a state for this interaction. Whoever deletes the row owns the state, so two
   * copies of one callback cannot both get it: one `DELETE … RETURNING` reads and removes it
   * at once (PostgreSQL and SQLite alike), and the loser of a race gets no row. A state of
   * another interaction is refused and left alone, so a foreign callback cannot burn someone
   * else's sign-in.
   */
  async consume(state: string, uid: string): Promise<StateRecord | undefined> {
    if (!WELL_FORMED.test(state)) return undefined;
    const [row] = await this.spend.run<Row>({ state, uid, now: Date.now() });
    return row ? { uid, appId: row.app_id, scope: row.scope } : undefined;
  }

  /**
   * Spends a state with the read of its interaction, in one statement on PostgreSQL. Only for
   * a request whose signed interaction cookie names `uid`, so that nobody but the person
   * signing in can burn the state. A state of an interaction that is gone is spent too, and
   * reads as unknown (the callback shows the "expired" page for such an interaction anyway).
   */
  async consumeReadingInteraction(state: string, uid: string, interactions: InteractionReader): Promise<StateRecord | undefined> {
    if (!WELL_FORMED.test(state)) return undefined;
    const [row] = await interactions.findAheadWith(uid, this.spendAlong, { state, uid, now: Date.now() });
    return row ? { uid, appId: String(row.app_id), scope: String(row.scope) } : undefined;
  }

  /** Deletes expired states a bounded batch at a time (short locks, safe on every instance). */
  async deleteExpired(batchSize = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = this.db(TABLE).select('state').where('expires_at', '<=', Date.now()).limit(batchSize);
      const deleted = await this.db(TABLE).whereIn('state', expired).del();
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
