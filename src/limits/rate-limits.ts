import type { Knex } from 'knex';
import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { isSqlite } from '../db/executor.js';
import type { Logger } from '../log.js';
import { renderMessage } from '../pages/message-page.js';
import { addressKey, limitedRoute, namedClient, type LimitedRoute } from './limited-routes.js';

/** Requests per minute; 0 turns a limit off. */
export interface RateLimitSettings {
  perAddress: number;
  perClient: number;
}

export type LimitName = 'address' | 'client';

/**
 * What a failed request (a 4xx answer: a wrong code, secret or token, an unknown client)
 * costs from its address's budget: ten ordinary requests. Real people rarely fail; guessing
 * is mostly failures, so it runs out of budget ten times sooner.
 */
export const FAILURE_COST = 10;

const WINDOW_S = 60;
/** How often a failing counter store is reported while requests go through uncounted. */
const STORE_WARNING_EVERY_MS = 60_000;

interface Options {
  db: Knex;
  settings: RateLimitSettings;
  clientIds: ReadonlySet<string>;
  logger: Logger;
  /** For the metrics: one request refused by one limit. */
  onLimited: (limit: LimitName, route: LimitedRoute) => void;
}

/**
 * Koa: counts the requests to the limited endpoints (limited-routes.ts) per address and per
 * registered client, in one-minute windows, and refuses those over a limit with 429 and
 * Retry-After. On PostgreSQL the counters live in the database, shared by every instance
 * (one upsert per counter and request); on SQLite (one instance) in memory. A key over its
 * limit is then refused from memory until its window ends, so a flood does not reach the
 * database. If the counters cannot be reached the request goes through uncounted: the
 * endpoints behind need the same database, and answer that outage themselves.
 */
export function rateLimits({ db, settings, clientIds, logger, onLimited }: Options): Middleware {
  const perAddress = settings.perAddress > 0 ? limiter(db, 'address', settings.perAddress) : undefined;
  const perClient = settings.perClient > 0 ? limiter(db, 'client', settings.perClient) : undefined;
  if (!perAddress && !perClient) return (_ctx, next) => next();
  let lastStoreWarning = 0;

  // One log line when a key goes over, not one per refused request of a flood: the keys
  // reported, until their window ends (forgotten all at once if a flood of keys piles up).
  const reported = new Map<string, number>();
  const firstRefusal = (key: string, msLeft: number) => {
    const now = Date.now();
    if ((reported.get(key) ?? 0) > now) return false;
    if (reported.size >= 10_000) reported.clear();
    reported.set(key, now + msLeft);
    return true;
  };

  const count = async (limit: LimitName, counters: RateLimiterAbstract | undefined, key: string | undefined) => {
    if (!counters || key === undefined) return undefined;
    try {
      await counters.consume(key);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return { limit, key, outcome };
      if (Date.now() - lastStoreWarning > STORE_WARNING_EVERY_MS) {
        lastStoreWarning = Date.now();
        logger.warn(
          { event: 'rate_limit_store_failed', message: (outcome as Error).message },
          'request counters unavailable; not counting',
        );
      }
      return undefined;
    }
  };

  return async (ctx, next) => {
    const route = limitedRoute(ctx.path);
    if (!route) return next();
    const address = addressKey(ctx.ip);
    const client = namedClient(ctx, clientIds);
    const refusals = await Promise.all([count('address', perAddress, address), count('client', perClient, client)]);
    const refused = refusals.find((r) => r !== undefined);
    if (refused) {
      const retryAfter = Math.max(1, Math.ceil(refused.outcome.msBeforeNext / 1000));
      onLimited(refused.limit, route);
      if (firstRefusal(`${refused.limit}:${refused.key}`, refused.outcome.msBeforeNext)) {
        logger.warn(
          { event: 'rate_limited', limit: refused.limit, key: refused.key, path: ctx.path, retryAfter },
          `over the ${refused.limit} limit; refusing for ${retryAfter} s`,
        );
      }
      await answerTooMany(ctx, route, retryAfter);
      return;
    }
    await next();
    const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
    if (perAddress && status >= 400 && status < 500) {
      // After the answer: the person waiting should not wait for the bookkeeping.
      perAddress.penalty(address, FAILURE_COST).catch(() => undefined);
    }
  };
}

function limiter(db: Knex, name: LimitName, points: number): RateLimiterAbstract {
  const options = { keyPrefix: name, points, duration: WINDOW_S };
  if (isSqlite(db)) return new RateLimiterMemory(options);
  return new RateLimiterPostgres({
    ...options,
    storeClient: db,
    storeType: 'knex',
    tableName: 'rate_limits', // created by the migrations
    tableCreated: true,
    clearExpiredByTimeout: name === 'address', // one sweep of the shared table is enough
    inMemoryBlockOnConsumed: points + 1,
  });
}

async function answerTooMany(ctx: Context, route: LimitedRoute, retryAfter: number): Promise<void> {
  ctx.set('Retry-After', String(retryAfter));
  if (route === 'page') {
    await renderMessage(ctx, 'too_many_requests');
    return;
  }
  ctx.status = 429;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'temporarily_unavailable', error_description: `too many requests; retry after ${retryAfter} seconds` };
}
