import type { Middleware } from 'koa';
import { currentRequestContext, runInRequestContext } from '../request-context.js';

/** Something that holds back a request's writes and sends them when the request is done. */
export interface DeferredWrites {
  /** Sends every write held so far; resolves once they are committed. */
  flush(): Promise<void>;
}

/**
 * What one HTTP request has read and not yet written: the stores that take part (the
 * provider's adapter) keep a unit of their own in it, and the request's last middleware
 * sends their writes, together, before the response leaves.
 *
 * oidc-provider reads and writes its models one at a time: a token request alone reads the
 * code, its session and its grant and then writes two tokens, each a round trip of its own.
 * Within a request, rows read together in one statement and writes sent together in one
 * statement change nothing anyone else can see, as long as nothing is answered before the
 * writes are committed; that is what the scope guarantees.
 */
export class RequestScope {
  private readonly units = new Map<object, DeferredWrites>();
  private readonly readAhead = new Map<string, unknown>();
  private closed = false;

  /** Whether the request is done with it (its writes sent or being sent). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The unit `owner` keeps in this request (made on first use); none once the request is done. */
  unit<Unit extends DeferredWrites>(owner: object, create: () => Unit): Unit | undefined {
    if (this.closed) return undefined;
    let unit = this.units.get(owner) as Unit | undefined;
    if (!unit) {
      unit = create();
      this.units.set(owner, unit);
    }
    return unit;
  }

  /**
   * Hands a row one store read ahead to another (the adapter reads a token's account with
   * it, for the account store): kept for the rest of this request, until `forget`.
   */
  remember(kind: string, key: string, value: unknown): void {
    if (!this.closed) this.readAhead.set(`${kind}\u0000${key}`, value);
  }

  recall<Value>(kind: string, key: string): Value | undefined {
    return this.readAhead.get(`${kind}\u0000${key}`) as Value | undefined;
  }

  /** The row was written in this request: whoever needs it reads it again. */
  forget(kind: string, key: string): void {
    this.readAhead.delete(`${kind}\u0000${key}`);
  }

  /** Sends the writes still held. Anything written after this goes straight to the database. */
  async close(): Promise<void> {
    this.closed = true;
    for (const unit of this.units.values()) await unit.flush();
  }
}

/** The scope of the request being handled by the current async call chain, if any. */
export function currentScope(): RequestScope | undefined {
  return currentRequestContext()?.scope;
}

/**
 * Runs `handle` in a fresh scope, then sends the writes it held back; a failed send rejects
 * (the caller answers with an error instead of what `handle` prepared). Inside a request's
 * context (the request log makes one) the scope is that context's for as long as `handle`
 * runs; anything still running after it (a download started by the request) writes
 * straight to the database, as it would outside a request. A request handed on within its
 * own request (a sign-in resumed in place, see resume-here.ts) joins the scope still open:
 * what the first part held is read and sent with the rest.
 */
export function inRequestScope(handle: () => Promise<void>): Promise<void> {
  const open = currentScope();
  const scope = open && !open.isClosed ? open : new RequestScope();
  const run = async () => {
    try {
      await handle();
    } catch (error) {
      // The request failed anyway; what it did write before failing is kept, as it would
      // have been without the scope. Its own error is the one to answer with.
      await scope.close().catch(() => undefined);
      throw error;
    }
    await scope.close();
  };
  const context = currentRequestContext();
  if (!context) return runInRequestContext({ scope }, run);
  const outer = context.scope;
  context.scope = scope;
  return run().finally(() => {
    context.scope = outer;
  });
}

/**
 * Koa: each request in a scope of its own; its held writes are sent before Koa answers. When
 * sending fails, the error goes up to the error pages, and the redirect the route had
 * prepared is dropped (it would lead to a step whose data is not stored).
 */
export const requestScope: Middleware = async (ctx, next) => {
  try {
    await inRequestScope(next);
  } catch (error) {
    ctx.remove('Location');
    throw error;
  }
};
