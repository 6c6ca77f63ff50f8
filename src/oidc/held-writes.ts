import type { Middleware } from 'koa';
import { currentRequestContext, runInRequestContext } from '../request-context.js';

/** The columns of one stored provider row. */
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

export type HeldWrite = { kind: 'upsert'; values: ModelValues } | { kind: 'destroy'; model: string; id: string };

/** Sends writes together, all or nothing. */
export type WriteSender = (writes: HeldWrite[]) => Promise<void>;

const key = (model: string, id: string) => `${model}\u0000${id}`;

/**
 * The provider's writes of one HTTP request, held and sent together before its answer leaves
 * (see `heldWritesScope`). A sign-in step writes three to five rows one after the other; sent
 * together they are one statement on PostgreSQL instead of five round trips. Nothing else is
 * kept: every read goes to the database, except a read of a row this request wrote, which
 * answers what was written.
 *
 * Only a row's last write matters once they are sent together (a row upserted then destroyed
 * is only destroyed), so each row is held at most once, and the rows can go in any order.
 */
export class HeldWrites {
  private held = new Map<string, HeldWrite>();

  constructor(private readonly send: WriteSender) {}

  upsert(values: ModelValues): void {
    const k = key(values.model, values.id);
    this.held.delete(k); // re-added last: the order of the writes is kept
    this.held.set(k, { kind: 'upsert', values });
  }

  destroy(model: string, id: string): void {
    const k = key(model, id);
    this.held.delete(k);
    this.held.set(k, { kind: 'destroy', model, id });
  }

  /** A row as this request wrote it: its values, null if destroyed, undefined if not written here. */
  written(model: string, id: string): ModelValues | null | undefined {
    const write = this.held.get(key(model, id));
    if (!write) return undefined;
    return write.kind === 'upsert' ? write.values : null;
  }

  /**
   * The same by uid: undefined when not written here, and also when a destroy of this model
   * is held (it may be the row asked for): the caller then sends the writes and reads.
   */
  writtenByUid(model: string, uid: string): ModelValues | undefined {
    for (const write of this.held.values()) {
      if (write.kind === 'upsert' && write.values.model === model && write.values.uid === uid) return write.values;
    }
    return undefined;
  }

  holdsDestroyOf(model: string): boolean {
    for (const write of this.held.values()) if (write.kind === 'destroy' && write.model === model) return true;
    return false;
  }

  /** Sends what is held; anything written afterwards is held anew. */
  async flush(): Promise<void> {
    if (this.held.size === 0) return;
    const writes = [...this.held.values()];
    this.held = new Map();
    await this.send(writes);
  }
}

/** The held writes of the request being handled, made on first use; undefined outside a request. */
export function heldWrites(create: () => HeldWrites): HeldWrites | undefined {
  const scope = currentRequestContext()?.writeScope;
  if (!scope?.open) return undefined;
  scope.writes ??= create();
  return scope.writes as HeldWrites;
}

/**
 * Koa: the request's provider writes are held and sent when it is done, before Koa answers;
 * when sending fails, the error goes up to the error answers and a redirect prepared meanwhile
 * is dropped (it would lead to a step whose data is not stored). A request handed on within
 * itself (a sign-in resumed in place by the login step, see resume-here.ts) shares the
 * scope: the resumed part reads what the first part wrote, and sends it all before it answers.
 */
export const heldWritesScope: Middleware = async (ctx, next) => {
  const context = currentRequestContext();
  const joined = context?.writeScope?.open ? context.writeScope : undefined;
  const scope = joined ?? { open: true };
  const run = async () => {
    try {
      await next();
    } catch (error) {
      // The request failed anyway: what it wrote before failing is kept, as it would be with
      // each write sent at once. Its own error is the one to answer with.
      await scope.writes?.flush().catch(() => undefined);
      throw error;
    }
    try {
      await scope.writes?.flush();
    } catch (error) {
      ctx.remove('Location');
      throw error;
    }
  };
  if (joined) return run();
  try {
    if (context) {
      context.writeScope = scope;
      await run();
    } else {
      await runInRequestContext({ writeScope: scope }, run);
    }
  } finally {
    // Anything the request still runs after its answer writes at once.
    scope.open = false;
  }
};
