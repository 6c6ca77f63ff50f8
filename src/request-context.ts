import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the code handling one HTTP request finds without being handed it: the request's id,
 * for every log line written meanwhile.
 */
export interface RequestContext {
  requestId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being handled by the current async call chain, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export function runInRequestContext<Result>(context: RequestContext, run: () => Result): Result {
  return storage.run(context, run);
}
