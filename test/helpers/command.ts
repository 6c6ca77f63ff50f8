import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/paths.js';

export interface CommandRun { code: number; stdout: string; stderr: string }

/**
 * An operator command as `npm run <name>` runs it: the compiled script (built by the test
 * run's global setup) in its own process, configured by DATABASE_URL only.
 */
export async function runOperatorCommand(script: string, databaseUrl: string, args: string[]): Promise<CommandRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(projectRoot, 'dist', 'src', script), ...args], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CommandRun;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
