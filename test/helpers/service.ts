import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

/** The real entry point, as an operator runs it: compiled (by the test run's global setup). */
export const MAIN = join(projectRoot, 'dist', 'src', 'main.js');
export const SHIPPED_CLIENTS = join(projectRoot, 'config', 'clients.json');

export interface ServiceRun {
  code: number | null;
  output: string;
}

/**
 * Starts the service in `cwd`, configured by `env` only (plus PATH and the shipped clients
 * file); resolves when it exits, or when `until` shows up in its output (then stops it with
 * SIGTERM and waits for the exit).
 */
export function runService(cwd: string, env: Record<string, string>, until?: RegExp): Promise<ServiceRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', CLIENTS_FILE: SHIPPED_CLIENTS, METRICS_PORT: '0', ...env },
    });
    let output = '';
    let stopped = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!stopped && until?.test(output)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code, output }));
  });
}
