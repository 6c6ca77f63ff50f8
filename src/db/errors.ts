/**
 * Whether an error means "the database cannot be reached right now" (as opposed to a bug or
 * a constraint violation): the person gets a "try again" page and the service recovers by
 * itself once the database is back (knex's pool reconnects on the next query).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  // PostgreSQL: connection exceptions (class 08), shutdowns and "cannot connect now" (57P0x),
  // too many connections (53300).
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // SQLite: locked for too long, disk I/O trouble, file gone.
  'SQLITE_BUSY',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  const err = error as { name?: string; code?: string; message?: string } | undefined;
  if (!err) return false;
  if (err.name === 'KnexTimeoutError') return true; // no pool connection could be had
  if (err.code && UNAVAILABLE_CODES.has(err.code)) return true;
  return /Connection terminated|connection error|server closed the connection|Client was closed/i.test(err.message ?? '');
}
