import Router from '@koa/router';
import type { Knex } from 'knex';

export const HEALTH_PATHS = ['/healthz', '/readyz'] as const;

/** Whether `select 1` answers within `timeoutMs`; never throws. */
export async function databaseReachable(db: Knex, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([db.raw('select 1').then(() => true as const), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes for an orchestrator or a load balancer. `/healthz`: the process serves requests
 * (restart it if not). `/readyz`: it can also reach its database (send it traffic only then).
 * Neither says why something fails: the operator log does that.
 */
export function healthRouter(options: { db: Knex; timeoutMs?: number }): Router {
  const timeoutMs = options.timeoutMs ?? 2000;
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (await databaseReachable(options.db, timeoutMs)) {
      ctx.body = { status: 'ready' };
    } else {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', database: 'unreachable' };
    }
  });
  return router;
}
