import type { DeferredWrites } from '../db/request-scope.js';
import type { PreparedQuery } from '../db/prepared.js';

/** A provider row as stored (the columns the adapter reads back). */
export interface StoredModel {
  payload: string;
  expires_at: string | number | null;
  consumed_at: string | number | null;
}

/** The columns of one upsert. */
export interface ModelValues {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  account_id: string | null;
  session_uid: string | null;
  expires_at: number | null;
}

export type HeldWrite =
  | { kind: 'upsert'; values: ModelValues }
  | { kind: 'destroy'; model: string; id: string }
  /** Spends a code or refresh token: sent first, and only if nobody spent it meanwhile. */
  | { kind: 'consume'; model: string; id: string; at: number }
  /** Another store's write sent with the request's model writes (see KnexAdapter.holdAlong). */
  | { kind: 'along'; query: PreparedQuery<string>; values: Record<string, unknown> };

/**
 * A code or refresh token this request spent had been spent by another request since it was
 * read (two token requests with one code at the same moment): none of the request's writes
 * were stored, and its answer must be `invalid_grant`.
 */
export class AlreadyConsumed extends Error {
  constructor(readonly model: string) {
    super(`${model} was already used`);
    this.name = 'AlreadyConsumed';
  }
}

/** Sends held writes, in one statement where the database allows it. */
export type WriteSender = (writes: HeldWrite[]) => Promise<void>;

const key = (model: string, id: string) => `${model}\u0000${id}`;
const uidKey = (model: string, uid: string) => `uid\u0000${model}\u0000${uid}`;

/**
 * The adapter's part of one request (see RequestScope): the upserts, destroys and spendings
 * it has held back, and the rows it has read ahead (a token's grant and session, read with
 * the token). Lookups answer from the held writes first, then from what was read ahead, so the
 * request sees its own writes exactly as if they had been sent.
 *
 * Only the last write of a row matters once they are all sent together: a row upserted and
 * then destroyed is only destroyed. That also keeps every row at most once in a send, which
 * lets the rows of a send be written in any order (in one statement).
 */
export class ModelUnit implements DeferredWrites {
  private held = new Map<string, HeldWrite>();
  private readonly readAhead = new Map<string, StoredModel | null>();
  /** When rows read or consumed in this request were consumed: an upsert keeps that (it never clears it). */
  private readonly consumedAt = new Map<string, string | number>();
  private alongs = 0;

  constructor(private readonly send: WriteSender) {}

  upsert(values: ModelValues): void {
    this.forgetReadAhead(values.model);
    const k = key(values.model, values.id);
    this.held.delete(k); // re-added last: the order of the writes is kept
    this.held.set(k, { kind: 'upsert', values });
  }

  destroy(model: string, id: string): void {
    this.forgetReadAhead(model);
    const k = key(model, id);
    this.held.delete(k);
    this.held.set(k, { kind: 'destroy', model, id });
  }

  /**
   * Holds the spending of a row read in this request. False when the row has other writes
   * held: the caller sends those first and spends it at once.
   */
  consume(model: string, id: string, at: number): boolean {
    const k = key(model, id);
    if (this.held.has(k)) return false;
    this.forgetReadAhead(model);
    this.held.set(k, { kind: 'consume', model, id, at });
    this.consumedAt.set(k, at);
    return true;
  }

  /** Holds another store's write, to be sent with this request's model writes. */
  along(query: PreparedQuery<string>, values: Record<string, unknown>): void {
    this.held.set(`along\u0000${this.alongs++}`, { kind: 'along', query, values });
  }

  /** Whether the row's spending is held: anything else done to it must send that first. */
  consumeHeld(model: string, id: string): boolean {
    return this.held.get(key(model, id))?.kind === 'consume';
  }

  /**
   * What this request knows of a row without asking the database: `null` when it is known
   * not to exist (destroyed here, or read ahead and absent), undefined when it must be read.
   */
  known(model: string, id: string): StoredModel | null | undefined {
    const write = this.held.get(key(model, id));
    if (write?.kind === 'upsert') return this.asStored(write.values);
    if (write?.kind === 'destroy') return null;
    return this.readAhead.get(key(model, id));
  }

  /** The same by uid; undefined also when a held destroy of this model could be the row asked for. */
  knownByUid(model: string, uid: string): StoredModel | null | undefined {
    let destroys = false;
    for (const write of this.held.values()) {
      if (write.kind === 'upsert') {
        if (write.values.model === model && write.values.uid === uid) return this.asStored(write.values);
      } else if (write.kind === 'destroy' && write.model === model) {
        destroys = true;
      }
    }
    return destroys ? undefined : this.readAhead.get(uidKey(model, uid));
  }

  /** Whether a uid lookup must first send the held writes (a held destroy might be its row). */
  mustSendBeforeUidLookup(model: string): boolean {
    for (const write of this.held.values()) if (write.kind === 'destroy' && write.model === model) return true;
    return false;
  }

  /** A row read from the database by this request (its consumption is kept by later upserts). */
  noteRead(model: string, id: string, row: StoredModel | null): void {
    if (row?.consumed_at != null) this.consumedAt.set(key(model, id), row.consumed_at);
  }

  noteConsumed(model: string, id: string, at: number): void {
    this.forgetReadAhead(model);
    this.consumedAt.set(key(model, id), at);
  }

  /** A row read together with another: kept for this request's later lookups. */
  rememberById(model: string, id: string, row: StoredModel | null): void {
    this.noteRead(model, id, row);
    if (!this.held.has(key(model, id))) this.readAhead.set(key(model, id), row);
  }

  rememberByUid(model: string, uid: string, row: StoredModel | null): void {
    this.readAhead.set(uidKey(model, uid), row);
  }

  /** A write of this model may change any row of it read ahead (its uid included). */
  forgetReadAhead(model: string): void {
    for (const k of this.readAhead.keys()) {
      if (k.startsWith(`${model}\u0000`) || k.startsWith(`uid\u0000${model}\u0000`)) this.readAhead.delete(k);
    }
  }

  private asStored(values: ModelValues): StoredModel {
    return { payload: values.payload, expires_at: values.expires_at, consumed_at: this.consumedAt.get(key(values.model, values.id)) ?? null };
  }

  forgetAllReadAhead(): void {
    this.readAhead.clear();
  }

  async flush(): Promise<void> {
    if (this.held.size === 0) return;
    const writes = [...this.held.values()];
    this.held = new Map();
    await this.send(writes);
  }
}
