import type { Knex } from 'knex';
import { MODELS_TABLE } from '../oidc/stored-rows.js';
import { TTL } from '../oidc/ttl.js';
import { STATES_TABLE } from './states.js';

/**
 * How long an interaction may wait for its person to set off to WeChat. Anyone can start
 * interactions (a GET of /auth stores one), and one that never reaches WeChat is either
 * abandoned or an attack on the disk: it goes after this, not after the 30 minutes a sign-in
 * under way gets. Ten minutes leaves a person time to read the sign-in or consent page.
 */
export const UNSTARTED_INTERACTION_MS = 10 * 60 * 1000;

/**
 * Deletes interactions older than UNSTARTED_INTERACTION_MS that hold no WeChat state (none
 * was issued, or it was spent or expired), a bounded batch at a time. Interactions are stored
 * with a fixed lifetime, so their age shows in `expires_at`.
 */
export async function deleteUnstartedInteractions(db: Knex, batchSize = 1000, now = Date.now()): Promise<number> {
  const createdBefore = now - UNSTARTED_INTERACTION_MS;
  const expiresBefore = createdBefore + TTL.Interaction * 1000;
  let total = 0;
  for (;;) {
    const unstarted = db(MODELS_TABLE)
      .select('model', 'id')
      .where({ model: 'Interaction' })
      .where('expires_at', '<', expiresBefore)
      .whereNotExists(
        (started) =>
          void started
            .select(db.raw('1'))
            .from(STATES_TABLE)
            .whereRaw('?? = ??', [`${STATES_TABLE}.uid`, `${MODELS_TABLE}.id`]),
      )
      .limit(batchSize);
    const deleted = await db(MODELS_TABLE).whereIn(['model', 'id'], unstarted).del();
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
