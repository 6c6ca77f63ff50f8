import type { Logger } from '../log.js';

// Every minute: interactions that never reach WeChat must go within minutes (see
// interaction/unstarted.ts), and each pass is a few indexed deletes that usually find nothing.
const EVERY_MS = 60 * 1000;

/** One kind of dead row: deletes a bounded batch at a time, returns how many went. */
export type CleanupTask = () => Promise<number>;

/**
 * Deletes dead rows on a schedule (expired provider rows, spent WeChat states, retired
 * signing keys: the owners of those tables pass their tasks in). Every instance runs it: the
 * deletes only touch rows that are already dead, so two instances deleting at once just find
 * less to do.
 */
export function startCleanup(tasks: Record<string, CleanupTask>, logger: Logger): { stop(): void; runOnce(): Promise<void> } {
  async function runOnce(): Promise<void> {
    try {
      const deleted: Record<string, number> = {};
      for (const [name, task] of Object.entries(tasks)) deleted[name] = await task();
      if (Object.values(deleted).some((n) => n > 0)) logger.info({ event: 'cleanup', ...deleted }, 'deleted expired rows');
    } catch (error) {
      logger.warn({ event: 'cleanup_failed', message: (error as Error).message }, 'cleanup failed; will retry');
    }
  }
  const timer = setInterval(() => void runOnce(), EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
