import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { isDatabaseUnavailable } from './errors.js';
import { databaseTarget } from './target.js';

/** A database that cannot be used at start; the message names DATABASE_URL, password hidden. */
export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
}

const RETRY_MS = 1_000;

/** The driver's reason in a few words, without stack or connection string. */
function reason(error: unknown): string {
  const err = error as { code?: string; message?: string };
  const message = (err.message ?? String(error)).split('\n')[0]!.replace(/^select 1 - /, '');
  return err.code && !message.includes(err.code) ? `${message} (${err.code})` : message;
}

/**
 * Waits until the database answers, for at most `waitSeconds`: in a compose file or after a
 * host reboot PostgreSQL may come up a few seconds after the service. Only "cannot reach it
 * now" is waited for; a wrong database name, user or password is final and reported at once.
 */
export async function waitForDatabase(db: Knex, databaseUrl: string, waitSeconds: number, logger: Logger): Promise<void> {
  const { label } = databaseTarget(databaseUrl);
  const deadline = Date.now() + waitSeconds * 1_000;
  let announced = false;
  for (;;) {
    try {
      await db.raw('select 1');
      if (announced) logger.info({ event: 'database_reached', database: label }, 'the database answers');
      return;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) {
        throw new DatabaseStartError(`DATABASE_URL (${label}) cannot be used: ${reason(error)}`);
      }
      if (Date.now() + RETRY_MS > deadline) {
        const waited = waitSeconds > 0 ? ` after waiting ${waitSeconds} s (DATABASE_WAIT_SECONDS)` : '';
        throw new DatabaseStartError(`DATABASE_URL (${label}) cannot be reached${waited}: ${reason(error)}`);
      }
      if (!announced) {
        logger.warn({ event: 'database_wait', database: label, reason: reason(error) }, `waiting up to ${waitSeconds} s for the database`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
