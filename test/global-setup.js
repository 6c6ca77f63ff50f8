// Compiles the service once before any test file runs: the tests that start the real entry
// point or the operator commands as their own processes run the compiled `dist/`, and several
// test files compiling at once would overwrite each other's output.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const database = process.env.TEST_DATABASE_URL;
  if (!/^postgres(ql)?:\/\//.test(database ?? '')) {
    process.stdout.write(
      '\nOn SQLite; test/postgres/ and the PostgreSQL-only tests are skipped: set TEST_DATABASE_URL=postgres://… to run them.\n',
    );
  } else {
    process.stdout.write(`\nOn PostgreSQL (TEST_DATABASE_URL ${database.replace(/:[^:@/]*@/, ':***@')}).\n`);
  }
}
