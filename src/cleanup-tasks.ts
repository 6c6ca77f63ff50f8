import type { Knex } from 'knex';
import type { CleanupTask } from './db/cleanup.js';
import { StateStore } from './interaction/states.js';
import { deleteUnstartedInteractions } from './interaction/unstarted.js';
import { PhoneLinks } from './interaction/phone-links.js';
import { deleteRetiredKeys } from './oidc/keys.js';
import { deleteExpiredModels } from './oidc/stored-rows.js';

/** The dead rows the scheduled cleanup deletes, by the name its log line gives them. */
export function cleanupTasks(db: Knex): Record<string, CleanupTask> {
  const states = new StateStore(db);
  return {
    models: () => deleteExpiredModels(db),
    states: () => states.deleteExpired(),
    // After the states: an interaction whose state just expired counts as never started.
    unstarted_interactions: () => deleteUnstartedInteractions(db),
    phone_links: () => new PhoneLinks(db).deleteExpired(),
    keys: async () => (await deleteRetiredKeys(db)).length,
  };
}
