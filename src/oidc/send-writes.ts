import type { Knex } from 'knex';
import { executorFor } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { SqliteExecutor } from '../db/sqlite-executor.js';
import type { HeldWrite, WriteSender } from './held-writes.js';

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
    const destroy = new PreparedQuery(db, ['model', 'id'], (where) => db(table).where(where).del());
    const upsert = new PreparedQuery(db, VALUE_COLUMNS, (row) => db(table).insert(row).onConflict(['model', 'id']).merge());
    return async (writes) => {
      await executor.transaction((run) => {
        for (const write of writes) {
          if (write.kind === 'destroy') run(destroy.sql, destroy.bindings(write));
          else run(upsert.sql, upsert.bindings(write.values));
        }
      });
    };
  }
  return async (writes) => {
    const { destroys, upserts } = byKind(writes);
    // Each shape (so many destroys, so many upserts) is a named statement, prepared once per connection.
    const name = `${table}_send_${destroys.length}_${upserts.length}`;
    const bindings = [
      ...destroys.flatMap((d) => [d.model, d.id]),
      ...upserts.flatMap((u) => VALUE_COLUMNS.map((column) => u.values[column])),
    ];
    await executor.write(postgresSql(table, destroys.length, upserts.length), bindings, name);
  };
}

function byKind(writes: HeldWrite[]) {
  return {
    destroys: writes.filter((w): w is Destroy => w.kind === 'destroy'),
    upserts: writes.filter((w): w is Upsert => w.kind === 'upsert'),
  };
}

/** One statement: the destroys and the multi-row upsert as data-modifying WITH parts. The rows are distinct (see HeldWrites). */
function postgresSql(table: string, destroys: number, upserts: number): string {
  let n = 0;
  const param = (cast = '') => `$${++n}${cast}`;
  const list = (count: number, item: () => string) => Array.from({ length: count }, item).join(', ');
  const parts: string[] = [];
  if (destroys) parts.push(`removed as (delete from ${table} where (model, id) in (${list(destroys, () => `(${param()}, ${param()})`)}))`);
  if (upserts) {
    const row = () => `(${VALUE_COLUMNS.map((column) => param(column === 'expires_at' ? '::bigint' : '::text')).join(', ')})`;
    const update = VALUE_COLUMNS.filter((c) => c !== 'model' && c !== 'id')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ');
    parts.push(`stored as (insert into ${table} (${VALUE_COLUMNS.join(', ')}) values ${list(upserts, row)}
      on conflict (model, id) do update set ${update})`);
  }
  return `with ${parts.join(', ')} select 1`;
}
