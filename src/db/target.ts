import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The database a DATABASE_URL names, as the service and the operator commands report it. */
export interface DatabaseTarget {
  kind: 'sqlite' | 'postgres';
  /** SQLite only: the absolute path of the file (or ':memory:'). */
  file?: string;
  /** For messages and logs: "SQLite /srv/idp/data/idp.sqlite3", "PostgreSQL postgres://idp:***@db:5432/idp". */
  label: string;
}

export function databaseTarget(databaseUrl: string): DatabaseTarget {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    const file = path === ':memory:' ? path : resolve(path);
    return { kind: 'sqlite', file, label: `SQLite ${file}` };
  }
  return { kind: 'postgres', label: `PostgreSQL ${withoutPassword(databaseUrl)}` };
}

/** The URL with its password (and any `password=` parameter) replaced by `***`. */
export function withoutPassword(databaseUrl: string): string {
  if (!URL.canParse(databaseUrl)) return databaseUrl.replace(/:[^:@/]*@/, ':***@');
  const url = new URL(databaseUrl);
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (/pass/i.test(key)) url.searchParams.set(key, '***');
  }
  return url.href;
}

/** Whether the SQLite file exists already (false for PostgreSQL and in-memory databases). */
export function sqliteFileExists(target: DatabaseTarget): boolean {
  return target.kind === 'sqlite' && target.file !== ':memory:' && existsSync(target.file!);
}

/** For SQLite: why the file cannot be created where it is named, or undefined when it can. */
export function sqliteDirectoryProblem(target: DatabaseTarget): string | undefined {
  if (target.kind !== 'sqlite' || target.file === ':memory:') return undefined;
  const directory = dirname(target.file!);
  return existsSync(directory) ? undefined : `the directory ${directory} does not exist`;
}
