import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestScope } from './db/request-scope.js';

/**
 * What the code handling one HTTP request finds without being handed it: the request's id
 * (for every log line written meanwhile) and its database scope (see db/request-scope.ts).
 *
 * One AsyncLocalStorage for both: Node gives each instance a share of the bookkeeping of
 * every promise created while a request is handled (thousands per sign-in), so the request
 * log's context and the database scope live in one store rather than two.
 */
export interface RequestContext {
  requestId?: string;
  scope?: RequestScope;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being handled by the current async call chain, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export function runInRequestContext<Result>(context: RequestContext, run: () => Result): Result {
  return storage.run(context, run);
}
