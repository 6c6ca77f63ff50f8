import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { executorFor } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { SqliteExecutor } from '../db/sqlite-executor.js';
import { AlreadyConsumed, type HeldWrite, type ModelValues, type WriteSender } from './model-unit.js';

const TABLE = 'oidc_models';

export const VALUE_COLUMNS = ['model', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'account_id', 'session_uid', 'expires_at'] as const;

type Upsert = Extract<HeldWrite, { kind: 'upsert' }>;
type Destroy = Extract<HeldWrite, { kind: 'destroy' }>;
type Consume = Extract<HeldWrite, { kind: 'consume' }>;
type Along = Extract<HeldWrite, { kind: 'along' }>;

function byKind(writes: HeldWrite[]) {
  return {
    consumes: writes.filter((w): w is Consume => w.kind === 'consume'),
    destroys: writes.filter((w): w is Destroy => w.kind === 'destroy'),
    upserts: writes.filter((w): w is Upsert => w.kind === 'upsert'),
    alongs: writes.filter((w): w is Along => w.kind === 'along'),
  };
}

/**
 * Sends a request's held writes all or nothing, the spending of codes and refresh tokens
 * first: if one was spent meanwhile by another request (checked in the same statement that
 * spends it), nothing is stored and AlreadyConsumed is thrown. So a code used twice at the
 * same moment yields tokens once, where two separate read-then-update steps could not tell.
 * Another store's writes held with them (KnexAdapter.holdAlong) are sent in the same
 * statement or savepoint; on PostgreSQL they are stored even when the spending fails, so only
 * writes that are harmless on their own (the WeChat state of a new interaction) are held so.
 */
export function modelSender(db: Knex, upsert: PreparedQuery<(typeof VALUE_COLUMNS)[number]>, destroy: PreparedQuery<'model' | 'id'>): WriteSender {
  const executor = executorFor(db);
  return executor instanceof SqliteExecutor ? sqliteSender(db, executor, upsert, destroy) : postgresSender(db);
}

/**
 * SQLite: the statements back to back in a savepoint of the open write batch (see
 * SqliteExecutor.atomic); a statement there costs microseconds, not a round trip.
 */
function sqliteSender(db: Knex, executor: SqliteExecutor, upsert: PreparedQuery<(typeof VALUE_COLUMNS)[number]>, destroy: PreparedQuery<'model' | 'id'>): WriteSender {
  const spend = new PreparedQuery(db, ['model', 'id', 'consumed_at'],
    ({ model, id, consumed_at }) => db(TABLE).where({ model, id }).whereNull('consumed_at').update({ consumed_at }).returning('id'));
  return async (writes) => {
    const { consumes, destroys, upserts, alongs } = byKind(writes);
    await executor.atomic((run) => {
      for (const a of alongs) run(a.query.sql, a.query.bindings(a.values));
      for (const c of consumes) {
        if (run(spend.sql, spend.bindings({ model: c.model, id: c.id, consumed_at: c.at })).length === 0) throw new AlreadyConsumed(c.model);
      }
      for (const d of destroys) run(destroy.sql, destroy.bindings(d));
      for (const u of upserts) run(upsert.sql, upsert.bindings(u.values));
    });
  };
}

/**
 * PostgreSQL: one statement, one round trip. Spending in a data-modifying WITH that returns
 * the rows it spent; the destroys and the multi-row upsert run only if it spent them all; the
 * statement answers how many it spent. The rows are distinct (see ModelUnit), so none is
 * touched twice. Each shape (so many of each) is a named statement, prepared once per
 * connection.
 */
function postgresSender(db: Knex): WriteSender {
  const executor = executorFor(db);
  const shapes = new Map<string, { sql: string; name: string }>();
  const shapeOf = (consumes: number, destroys: number, upserts: number, alongs: Along[]) => {
    let id = `${consumes}_${destroys}_${upserts}`;
    // Statement names are at most 63 bytes: the statements along go by a digest of theirs.
    if (alongs.length) id += `_${createHash('sha1').update(alongs.map((a) => a.query.name).join()).digest('hex').slice(0, 16)}`;
    let shape = shapes.get(id);
    if (!shape) {
      shape = { sql: postgresSql(consumes, destroys, upserts, alongs.map((a) => a.query.sql)), name: `oidc_models_send_${id}` };
      shapes.set(id, shape);
    }
    return shape;
  };
  return async (writes) => {
    const { consumes, destroys, upserts, alongs } = byKind(writes);
    const { sql, name } = shapeOf(consumes.length, destroys.length, upserts.length, alongs);
    const bindings = [
      ...consumes.flatMap((w) => [w.model, w.id, w.at]),
      ...destroys.flatMap((w) => [w.model, w.id]),
      ...upserts.flatMap((w) => VALUE_COLUMNS.map((column) => (w.values as ModelValues)[column])),
      ...alongs.flatMap((w) => w.query.bindings(w.values)),
    ];
    const [row] = await executor.write<{ spent: number }>(sql, bindings, name);
    if (consumes.length > 0 && Number(row?.spent) !== consumes.length) throw new AlreadyConsumed(consumes[0]!.model);
  };
}

function postgresSql(consumes: number, destroys: number, upserts: number, alongs: string[]): string {
  let n = 0;
  const param = (cast = '') => `$${++n}${cast}`;
  const list = (count: number, item: () => string) => Array.from({ length: count }, item).join(', ');
  const parts: string[] = [];
  let guard = '';
  if (consumes) {
    parts.push(`spent as (update ${TABLE} set consumed_at = v.at from (values ${list(consumes, () => `(${param('::text')}, ${param('::text')}, ${param('::bigint')})`)}) as v(model, id, at)
      where ${TABLE}.model = v.model and ${TABLE}.id = v.id and ${TABLE}.consumed_at is null returning 1)`);
    guard = `(select count(*) from spent) = ${consumes}`;
  }
  if (destroys) {
    parts.push(`removed as (delete from ${TABLE} where (model, id) in (${list(destroys, () => `(${param()}, ${param()})`)})${guard ? ` and ${guard}` : ''})`);
  }
  if (upserts) {
    const row = () => `(${VALUE_COLUMNS.map((column) => param(column === 'expires_at' ? '::bigint' : '::text')).join(', ')})`;
    const update = VALUE_COLUMNS.filter((c) => c !== 'model' && c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
    parts.push(`stored as (insert into ${TABLE} (${VALUE_COLUMNS.join(', ')}) select * from (values ${list(upserts, row)}) as v
      ${guard ? `where ${guard}` : ''} on conflict (model, id) do update set ${update})`);
  }
  // Each statement along, its parameters numbered on from the ones before. A data-modifying
  // WITH runs whether or not the query reads it.
  alongs.forEach((along, i) => {
    let count = 0;
    const renumbered = along.replace(/\$(\d+)/g, (_, k: string) => {
      count = Math.max(count, Number(k));
      return `$${n + Number(k)}`;
    });
    n += count;
    parts.push(`along_${i} as (${renumbered})`);
  });
  return `with ${parts.join(', ')} select ${consumes ? '(select count(*) from spent)::int' : '0'} as spent`;
}
