// `npm install` and `npm ci` build the service once (the `prepare` script), so that `npm start`
// only runs the compiled output. An install without dev packages has no TypeScript: it cannot
// build, and says so instead of failing the install; such an install takes `dist/` from
// scripts/release-build.sh (see docs/operations.md).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  process.stdout.write('TypeScript is not installed (an install without dev packages): dist/ was not built\n');
  process.exit(0);
}
// From scratch: a module removed from src/ must not live on in dist/.
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
