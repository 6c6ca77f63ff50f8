import type { Knex } from 'knex';
import { executorFor } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { SqliteExecutor } from '../db/sqlite-executor.js';
import type { HeldWrite, WriteSender } from './held-writes.js';

/**
 * A request's writes name a grant that is no longer stored: it was revoked while the request
 * ran (the loser of a simultaneous code reuse, a block). Nothing of the request was written.
 */
export class GrantGone extends Error {
  constructor() {
    super('the grant was revoked while the request ran');
    this.name = 'GrantGone';
  }
}

// Rows that may outlive their grant: the grant itself, an interaction about to extend one,
// a session. Any other row naming a grant (codes, tokens) is written only while it exists.
const UNGUARDED = new Set(['Grant', 'Interaction', 'Session']);

export const VALUE_COLUMNS = ['model', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'account_id', 'session_uid', 'expires_at'] as const;

type Upsert = Extract<HeldWrite, { kind: 'upsert' }>;
type Destroy = Extract<HeldWrite, { kind: 'destroy' }>;

/**
 * Sends a request's held writes to `table` all or nothing: on SQLite in one transaction (a
 * statement there costs no round trip), on PostgreSQL in one statement.
 */
export function writeSender(db: Knex, table: string): WriteSender {
  const executor = executorFor(db);
  if (executor instanceof SqliteExecutor) {
    const stored = (count: number) =>
      `select count(*) as n from ${table} where model = 'Grant' and id in (${Array<string>(count).fill('?').join(', ')})`;
    const destroy = new PreparedQuery(db, ['model', 'id'], (where) => db(table).where(where).del());
    const upsert = new PreparedQuery(db, VALUE_COLUMNS, (row) => db(table).insert(row).onConflict(['model', 'id']).merge());
    return async (writes) => {
      const grants = requiredGrants(writes);
      await executor.transaction((run) => {
        // One connection, one transaction at a time: what is read here stays true until COMMIT.
        if (grants.length && run<{ n: number }>(stored(grants.length), grants)[0]!.n < grants.length) throw new GrantGone();
        for (const write of writes) {
          if (write.kind === 'destroy') run(destroy.sql, destroy.bindings(write));
          else run(upsert.sql, upsert.bindings(write.values));
        }
      });
    };
  }
  return async (writes) => {
    const { destroys, upserts } = byKind(writes);
    const grants = requiredGrants(writes);
    // Each shape (so many destroys, upserts, grants) is a named statement, prepared once per connection.
    const name = `${table}_send_${destroys.length}_${upserts.length}_${grants.length}`;
    const bindings = [
      ...grants,
      ...destroys.flatMap((d) => [d.model, d.id]),
      ...upserts.flatMap((u) => VALUE_COLUMNS.map((column) => u.values[column])),
    ];
    const [row] = await executor.write<{ live: number }>(
      postgresSql(table, grants.length, destroys.length, upserts.length),
      bindings,
      name,
    );
    if (grants.length && Number(row!.live) < grants.length) throw new GrantGone();
  };
}

function byKind(writes: HeldWrite[]) {
  return {
    destroys: writes.filter((w): w is Destroy => w.kind === 'destroy'),
    upserts: writes.filter((w): w is Upsert => w.kind === 'upsert'),
  };
}

/** The grants that held codes and tokens name and that these writes do not store themselves. */
function requiredGrants(writes: HeldWrite[]): string[] {
  const upserts = byKind(writes).upserts.map((u) => u.values);
  const written = new Set(upserts.filter((v) => v.model === 'Grant').map((v) => v.id));
  const required = new Set<string>();
  for (const v of upserts) if (v.grant_id && !UNGUARDED.has(v.model) && !written.has(v.grant_id)) required.add(v.grant_id);
  return [...required];
}

/**
 * One statement: the destroys and the multi-row upsert as data-modifying WITH parts. The rows
 * are distinct (see HeldWrites). With grants to check, each part runs only if every one of
 * them is still stored, and the grant rows are locked (FOR SHARE) until the statement
 * commits, so a revocation deleting one waits for it, and then deletes what it wrote
 * (stored-rows.ts deletes the grant row first); `live` says how many were found.
 */
function postgresSql(table: string, grants: number, destroys: number, upserts: number): string {
  let n = 0;
  const param = (cast = '') => `$${++n}${cast}`;
  const list = (count: number, item: () => string) => Array.from({ length: count }, item).join(', ');
  const parts: string[] = [];
  let allLive = '';
  if (grants) {
    parts.push(`live as (select id from ${table} where model = 'Grant' and id in (${list(grants, () => param('::text'))}) for share)`);
    allLive = ` and (select count(*) from live) = ${grants}`;
  }
  if (destroys) {
    parts.push(`removed as (delete from ${table} where (model, id) in (${list(destroys, () => `(${param()}, ${param()})`)})${allLive})`);
  }
  if (upserts) {
    const row = () => `(${VALUE_COLUMNS.map((column) => param(column === 'expires_at' ? '::bigint' : '::text')).join(', ')})`;
    const update = VALUE_COLUMNS.filter((c) => c !== 'model' && c !== 'id')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ');
    const columns = VALUE_COLUMNS.join(', ');
    const values = grants
      ? `select * from (values ${list(upserts, row)}) as v (${columns}) where true${allLive}`
      : `values ${list(upserts, row)}`;
    parts.push(`stored as (insert into ${table} (${columns}) ${values}
      on conflict (model, id) do update set ${update})`);
  }
  return `with ${parts.join(', ')} select ${grants ? '(select count(*) from live)::int' : '1'} as live`;
}
