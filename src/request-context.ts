import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the code handling one HTTP request finds without being handed it: the request's id,
 * for every log line written meanwhile, and the provider's writes it holds (see
 * oidc/held-writes.ts). One AsyncLocalStorage for both: Node does bookkeeping for each
 * instance at every promise created (thousands per sign-in).
 */
export interface RequestContext {
  requestId?: string;
  writeScope?: { open: boolean; writes?: { flush(): Promise<void> } };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being handled by the current async call chain, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export function runInRequestContext<Result>(context: RequestContext, run: () => Result): Result {
  return storage.run(context, run);
}
