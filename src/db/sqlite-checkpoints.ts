import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * SQLite's WAL checkpoints, moved off the event loop.
 *
 * By default the connection that commits a write also copies the write-ahead log back into
 * the database file whenever the log passes a size (`wal_autocheckpoint`), inside that commit:
 * with better-sqlite3 that is the event loop, blocked for the copy and for the two fsyncs that
 * come with it (measured: one commit in sixty took 5 to 70 ms, two fifths of all commit time,
 * and every request waiting behind it). Here the serving connection never checkpoints; a
 * worker thread with a connection of its own runs a PASSIVE checkpoint every `intervalMs`,
 * which copies what no reader still needs without waiting for or blocking anyone. After a
 * complete checkpoint the next write starts the log over from its beginning, so it stays small.
 *
 * If the worker cannot run (it cannot open the file, say), the connection checkpoints for
 * itself again, as SQLite does by default.
 */
export interface Checkpointer {
  /** Closes the worker's connection and ends the thread. */
  stop(): Promise<void>;
}

/** Everything the worker does; plain CommonJS, run by `new Worker(…, { eval: true })`. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (an operator's command is checkpointing): the next round catches up.
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

/** The checkpointing SQLite would otherwise do inside commits, for its default 1000 pages. */
const FALLBACK_AUTOCHECKPOINT = 1000;

interface PragmaConnection {
  pragma(statement: string): unknown;
}

export function checkpointInBackground(file: string, connection: PragmaConnection, intervalMs = 2000): Checkpointer {
  connection.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver: driverPath, file, intervalMs } });
  // It must never keep the process alive by itself, nor take it down.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', () => {
    try {
      connection.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
    } catch {
      // The connection is closed already: nothing is left to checkpoint for.
    }
  });
  return {
    async stop() {
      worker.postMessage('stop');
      await exited;
    },
  };
}
