import type { Knex } from 'knex';

/** Back-channel logout tokens still to be sent (delivered by logout-delivery.ts). */
export const NOTICES_TABLE = 'logout_notices';

export interface LogoutNotice {
  id: number;
  client_id: string;
  sub: string;
  sid: string | null;
  created_at: number;
  attempts: number;
}

interface SessionPayload {
  authorizations?: Record<string, { sid?: string }>;
}
interface GrantPayload {
  clientId?: string;
}

/**
 * Records that the apps these accounts signed in to must be told their sessions ended: one
 * notice per app and session (`sid` from the session's authorizations), and one without a
 * `sid` (every session of that `sub`) for an app that holds only a grant (refresh tokens
 * outliving the browser session). Run in the transaction that revokes them, before the rows
 * go: the notices exist exactly when the revocation does. Which apps have a
 * `backchannel_logout_uri` is decided at delivery, from the clients file then in force.
 */
export async function recordLogoutNotices(db: Knex, accountIds: string[], table: string): Promise<number> {
  if (accountIds.length === 0) return 0;
  const rows: Array<{ model: string; account_id: string; payload: string }> = await db(table)
    .select('model', 'account_id', 'payload')
    .whereIn('account_id', accountIds)
    .whereIn('model', ['Session', 'Grant'])
    .orderBy('model', 'desc'); // sessions first: an app told per session needs no sub-wide notice
  const notices = new Map<string, { client_id: string; sub: string; sid: string | null }>();
  const told = new Set<string>(); // app and sub already told through a session
  for (const row of rows) {
    if (row.model === 'Session') {
      const { authorizations = {} } = JSON.parse(row.payload) as SessionPayload;
      for (const [clientId, { sid }] of Object.entries(authorizations)) {
        notices.set(`${clientId}\u0000${row.account_id}\u0000${sid ?? ''}`, { client_id: clientId, sub: row.account_id, sid: sid ?? null });
        told.add(`${clientId}\u0000${row.account_id}`);
      }
    } else {
      const { clientId } = JSON.parse(row.payload) as GrantPayload;
      if (clientId && !told.has(`${clientId}\u0000${row.account_id}`)) {
        notices.set(`${clientId}\u0000${row.account_id}\u0000`, { client_id: clientId, sub: row.account_id, sid: null });
      }
    }
  }
  if (notices.size === 0) return 0;
  const now = Date.now();
  await db(NOTICES_TABLE).insert([...notices.values()].map((notice) => ({ ...notice, created_at: now, attempts: 0, next_at: now })));
  return notices.size;
}
