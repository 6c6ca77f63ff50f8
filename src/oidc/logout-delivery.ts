import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import { isSqlite, rawRows } from '../db/executor.js';
import type { Logger } from '../log.js';
import { sendLogoutToken } from './internals.js';
import { NOTICES_TABLE, type LogoutNotice } from './logout-notices.js';

export type LogoutOutcome = 'sent' | 'failed' | 'dropped';

const EVERY_MS = 2000;
const BATCH = 20;
/** How long a notice taken by an instance is left alone: sending times out well before. */
const LEASE_MS = 60_000;
/** Retries, doubling from 10 s up to an hour apart; after the last the notice is dropped (about 10 hours in all). */
const MAX_ATTEMPTS = 15;
const retryDelayMs = (attempts: number) => Math.min(10_000 * 2 ** (attempts - 1), 3_600_000);

interface Options {
  db: Knex;
  provider: () => Provider;
  logger: Logger;
  onOutcome?: (outcome: LogoutOutcome) => void;
  everyMs?: number;
}

/**
 * Delivers the back-channel logout notices recorded by a block or a merge (logout-notices.ts),
 * on every instance: each takes up to 20 due notices at a time, moving them out of the
 * others' way for a minute, and sends each app its logout token. A notice an app took is
 * deleted; one it refused or did not answer is tried again later, then dropped with a
 * warning. Notices written by `npm run accounts` (another process) arrive within seconds.
 */
export function startLogoutDelivery({ db, provider, logger, onOutcome, everyMs = EVERY_MS }: Options): {
  deliverDue(): Promise<number>;
  stop(): Promise<void>;
} {
  // SQLite has one writer: the update below is the whole claim. PostgreSQL instances skip
  // the rows another is claiming at the same moment.
  const claim = `update ${NOTICES_TABLE} set next_at = ?, attempts = attempts + 1
    where id in (select id from ${NOTICES_TABLE} where next_at <= ? order by id limit ${BATCH}${isSqlite(db) ? '' : ' for update skip locked'})
    returning id, client_id, sub, sid, created_at, attempts`;

  async function deliver(notice: LogoutNotice): Promise<void> {
    const about = { event: 'backchannel_logout', client: notice.client_id, sub: notice.sub, attempt: notice.attempts };
    try {
      const sent = await sendLogoutToken(provider(), notice.client_id, notice.sub, notice.sid ?? undefined);
      await db(NOTICES_TABLE).where({ id: notice.id }).del();
      if (sent) {
        logger.info({ ...about, outcome: 'sent' }, 'logout token sent');
        onOutcome?.('sent');
      }
    } catch (error) {
      const message = (error as Error).message;
      if (notice.attempts >= MAX_ATTEMPTS) {
        await db(NOTICES_TABLE).where({ id: notice.id }).del();
        logger.warn({ ...about, outcome: 'dropped', message }, 'logout token not taken after every retry; dropped');
        onOutcome?.('dropped');
        return;
      }
      await db(NOTICES_TABLE)
        .where({ id: notice.id })
        .update({ next_at: Date.now() + retryDelayMs(notice.attempts) });
      logger.warn({ ...about, outcome: 'failed', message }, 'logout token not taken; will retry');
      onOutcome?.('failed');
    }
  }

  async function deliverDue(): Promise<number> {
    const now = Date.now();
    const notices = rawRows<LogoutNotice>(await db.raw(claim, [now + LEASE_MS, now]));
    await Promise.all(notices.map(deliver));
    return notices.length;
  }

  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // the last round is still sending
    running = deliverDue()
      .catch((error: Error) =>
        logger.warn({ event: 'backchannel_logout_failed', message: error.message }, 'logout notices unreadable; will retry'),
      )
      .finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return {
    deliverDue,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
