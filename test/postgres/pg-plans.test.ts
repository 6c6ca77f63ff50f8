import { describe, expect, it } from '@jest/globals';
import { usePostgresDatabase } from '../helpers/setup.js';

interface RawConnection {
  query(config: string | { name?: string; text: string; values?: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

const t = usePostgresDatabase();
/** knex's client, seen as the pool it is (its type is `any`). */
const pool = () =>
  t.db.client as { acquireConnection(): Promise<RawConnection>; releaseConnection(connection: RawConnection): Promise<void> };

describe('statement plans on PostgreSQL', () => {
  it('plans a prepared lookup once per connection, not at each of its runs', async () => {
    const connection = await pool().acquireConnection();
    try {
      const lookup = { name: 'session_by_id', text: 'select payload from oidc_models where model = $1 and id = $2' };
      for (let i = 0; i < 8; i += 1) await connection.query({ ...lookup, values: ['Session', `s-${i}`] });
      const {
        rows: [plans],
      } = await connection.query(`select generic_plans, custom_plans from pg_prepared_statements where name = 'session_by_id'`);
      // Left to itself the server plans the first five runs for their values, and goes on
      // doing so whenever it judges that worth it.
      expect(plans).toEqual({ generic_plans: '8', custom_plans: '0' });
    } finally {
      await pool().releaseConnection(connection);
    }
  });
});
