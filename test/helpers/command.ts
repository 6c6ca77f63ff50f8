import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/paths.js';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * An operator command as `npm run <name>` runs it: the compiled script (built by the test
 * run's global setup) in its own process, configured by DATABASE_URL only (none: the
 * default, relative to `cwd`).
 */
export async function runOperatorCommand(
  script: string,
  databaseUrl: string | undefined,
  args: string[],
  options: { cwd?: string } = {},
): Promise<CommandRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(projectRoot, 'dist', 'src', script), ...args], {
      env: { PATH: process.env.PATH ?? '', ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CommandRun;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The line every command prints first on stderr, naming its database. */
export const databaseLine = (stderr: string) => stderr.split('\n').find((line) => line.startsWith('database: '));

const directories: string[] = [];

/** A new, empty directory for SQLite files that must not exist yet (removed by removeDirectories). */
export function emptyDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'idp-command-'));
  directories.push(directory);
  return directory;
}

/** Removes the directories emptyDirectory made, with what the commands left in them. */
export function removeDirectories(): void {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
}

/** What a directory holds: a refused command must leave it as it was (no -wal or -shm either). */
export const filesIn = (directory: string) => (existsSync(directory) ? readdirSync(directory).sort() : []);
