import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { deleteExpiredModels } from '../oidc/adapter.js';
import { StateStore } from '../interaction/states.js';
import { deleteRetiredKeys } from '../oidc/keys.js';

const EVERY_MS = 10 * 60 * 1000;

/**
 * Deletes expired provider rows, spent WeChat states and retired signing keys on a schedule,
 * in bounded batches. Every instance runs it: the deletes only touch rows that are already
 * dead, so two instances deleting at once just find less to do.
 */
export function startCleanup(db: Knex, logger: Logger): { stop(): void; runOnce(): Promise<void> } {
  const states = new StateStore(db);
  async function runOnce(): Promise<void> {
    try {
      const models = await deleteExpiredModels(db);
      const spent = await states.deleteExpired();
      const keys = (await deleteRetiredKeys(db)).length;
      if (models || spent || keys) logger.info({ event: 'cleanup', models, states: spent, keys }, 'deleted expired rows');
    } catch (error) {
      logger.warn({ event: 'cleanup_failed', message: (error as Error).message }, 'cleanup failed; will retry');
    }
  }
  const timer = setInterval(() => void runOnce(), EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
