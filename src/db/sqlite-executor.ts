import type { KnexPool, StatementExecutor } from './executor.js';

interface SqliteStatement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): unknown;
}
/** The part of a better-sqlite3 connection used here. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}

interface Batch {
  connection: SqliteConnection;
  /** Settled when the batch's transaction has committed (or failed). */
  committed: Promise<void>;
  settle(error?: unknown): void;
}

/**
 * Runs prepared statements on knex's one SQLite connection, and commits the writes of
 * requests handled in the same turn of the event loop together (group commit).
 *
 * In WAL mode a commit costs far more than the statement it commits: every page the
 * statement changed (the row's table page and a page of each index) is appended to the WAL
 * with write calls of its own, plus the locking. A sign-in makes a dozen small writes,
 * each its own commit, and concurrent sign-ins change the same few pages (the newest end of
 * the table and of the expiry index). Writes that arrive together share one transaction:
 * those pages go to the WAL once.
 *
 * Nothing is reported written before it is: a write resolves only once its batch has
 * committed, so no response leaves before its data is committed (as durable as
 * `synchronous=NORMAL` makes any commit). A write that fails alone (a constraint) fails
 * alone; one that takes the transaction down with it fails the whole batch, whose writers
 * all see the error. While a batch is open it holds the connection, so knex's own queries
 * and transactions queue behind it in the pool, as they queue behind each other.
 */
export class SqliteExecutor implements StatementExecutor {
  private batch: Batch | undefined;
  private opening: Promise<Batch> | undefined;

  constructor(private readonly pool: KnexPool) {}

  async read<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    // An open batch holds the connection: read through it (it sees the batch's own writes,
    // which are committed before anyone who could ask for them learns their ids).
    if (this.batch) return this.execute<Row>(this.batch.connection, sql, bindings);
    // Nobody holds the connection and nobody waits for it: the read runs to completion right
    // now, synchronously, so taking it from the pool and giving it back would change nothing.
    const idle = this.idleConnection();
    if (idle) return this.execute<Row>(idle, sql, bindings);
    const connection = (await this.pool.acquireConnection()) as SqliteConnection;
    try {
      return this.execute<Row>(connection, sql, bindings);
    } finally {
      await this.pool.releaseConnection(connection);
    }
  }

  async write<Row>(sql: string, bindings: unknown[]): Promise<Row[]> {
    const batch = this.batch ?? (await this.open());
    let rows: Row[];
    try {
      rows = this.execute<Row>(batch.connection, sql, bindings);
    } catch (error) {
      // SQLite undoes a failed statement and keeps the transaction, unless the error was
      // severe enough to roll it back: then the batch's earlier writes are gone too.
      if (!batch.connection.inTransaction) this.fail(batch, error);
      throw error;
    }
    await batch.committed;
    return rows;
  }

  /**
   * Runs `steps` (several statements that belong together, like a registration) synchronously
   * in the open write batch, inside a savepoint: all of them or none. Nothing else can run in
   * between, since the steps never yield. Resolves once the batch has committed.
   */
  async atomic<Result>(steps: (run: <Row>(sql: string, bindings: unknown[]) => Row[]) => Result): Promise<Result> {
    const batch = this.batch ?? (await this.open());
    const { connection } = batch;
    connection.exec('SAVEPOINT atomic_steps');
    let result: Result;
    try {
      result = steps((sql, bindings) => this.execute(connection, sql, bindings));
      connection.exec('RELEASE atomic_steps');
    } catch (error) {
      if (connection.inTransaction) {
        // Undo this unit only; the batch's other writes stay.
        connection.exec('ROLLBACK TO atomic_steps');
        connection.exec('RELEASE atomic_steps');
      } else {
        this.fail(batch, error);
      }
      throw error;
    }
    await batch.committed;
    return result;
  }

  /** The pool's one connection when it is free and nobody is waiting for it. */
  private idleConnection(): SqliteConnection | undefined {
    const { pool } = this.pool;
    if (!pool || pool.numUsed() !== 0 || pool.numPendingAcquires() !== 0 || pool.free.length !== 1) return undefined;
    return pool.free[0]!.resource as SqliteConnection;
  }

  private execute<Row>(connection: SqliteConnection, sql: string, bindings: unknown[]): Row[] {
    // The statement cache of db/knex.ts keeps each SQL string prepared.
    const statement = connection.prepare(sql);
    return (statement.reader ? statement.all(bindings) : (statement.run(bindings), [])) as Row[];
  }

  private open(): Promise<Batch> {
    this.opening ??= (async () => {
      const connection = (await this.pool.acquireConnection()) as SqliteConnection;
      try {
        // IMMEDIATE: take the write lock now (another process, an operator's command, may
        // hold it; busy_timeout waits for it) rather than in the middle of the batch.
        connection.exec('BEGIN IMMEDIATE');
      } catch (error) {
        await this.pool.releaseConnection(connection);
        throw error;
      }
      let settle!: (error?: unknown) => void;
      const committed = new Promise<void>((resolve, reject) => {
        settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      // Each writer awaits it; the rejection is theirs to handle, never "unhandled".
      committed.catch(() => undefined);
      const batch: Batch = { connection, committed, settle };
      this.batch = batch;
      // After this turn's I/O callbacks: every request handled meanwhile joins the batch.
      setImmediate(() => this.commit(batch));
      return batch;
    })().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private commit(batch: Batch): void {
    if (this.batch !== batch) return; // already failed
    this.batch = undefined;
    try {
      batch.connection.exec('COMMIT');
      batch.settle();
    } catch (error) {
      try {
        if (batch.connection.inTransaction) batch.connection.exec('ROLLBACK');
      } catch {
        // The commit's error is the one to report; the connection is checked on its next use.
      }
      batch.settle(error);
    } finally {
      void this.pool.releaseConnection(batch.connection);
    }
  }

  private fail(batch: Batch, error: unknown): void {
    if (this.batch !== batch) return;
    this.batch = undefined;
    batch.settle(error);
    void this.pool.releaseConnection(batch.connection);
  }
}
