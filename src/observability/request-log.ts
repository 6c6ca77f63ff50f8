import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { requestLineLogger, type Logger } from '../log.js';
import { currentRequestContext, runInRequestContext } from '../request-context.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** The id of the request being handled by the current async call chain, if any. */
export function currentRequestId(): string | undefined {
  return currentRequestContext()?.requestId;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The caller's request id when it is a short, plain token (a proxy's or a load balancer's id,
 * so its logs and ours can be joined); anything else is replaced by a fresh one, so nothing a
 * client sends can inject text into the logs.
 */
export function acceptRequestId(incoming: string | undefined): string {
  return incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Longer paths are cut: a log line must stay a log line whatever URL a client sends. */
const MAX_LOGGED_PATH = 256;

export interface RequestLogOptions {
  /** Paths logged at debug rather than info (health checks and scrapes come every few seconds). */
  quietPaths?: Iterable<string>;
}

/**
 * One JSON line per HTTP request: method, path, status, duration, client address and request id. Only the
 * path is logged: the query string carries authorization and WeChat codes, and headers and
 * bodies carry cookies, credentials and tokens, so none of them is ever logged here.
 *
 * Put it first in the chain: everything below runs inside the request's context, so every
 * log line written meanwhile carries the same `requestId`.
 */
export function requestLog(logger: Logger, options: RequestLogOptions = {}): Middleware {
  const quiet = new Set(options.quietPaths ?? []);
  const lines = requestLineLogger(logger);
  return async (ctx, next) => {
    const requestId = acceptRequestId(ctx.get(REQUEST_ID_HEADER) || undefined);
    ctx.state.requestId = requestId;
    ctx.set(REQUEST_ID_HEADER, requestId);
    const started = process.hrtime.bigint();
    let failed: unknown;
    try {
      await runInRequestContext({ requestId }, next);
    } catch (error) {
      failed = error;
      throw error;
    } finally {
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      const status = failed === undefined ? ctx.status : statusOf(failed);
      const path = ctx.path.length > MAX_LOGGED_PATH ? `${ctx.path.slice(0, MAX_LOGGED_PATH)}…` : ctx.path;
      const level = quiet.has(ctx.path) ? 'debug' : 'info';
      lines[level](
        // ip: the client's address; behind a trusted proxy (TRUST_PROXY), the one it reports.
        { event: 'request', method: ctx.method, path, status, durationMs, requestId, ip: ctx.ip },
        `${ctx.method} ${path} ${status}`,
      );
    }
  };
}

/** The status Koa will answer with for an error nothing below handled. */
export function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
