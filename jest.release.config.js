// The release test: clones the committed HEAD, builds it with scripts/release-build.sh (npm ci,
// then npm prune --omit=dev) and runs the pruned release on PostgreSQL as production runs it.
// Minutes long and needs TEST_DATABASE_URL=postgres://…, so it is kept out of `npm test`; run
// with `TEST_DATABASE_URL=postgres://… npm run test:release`.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/release/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // The release builds its own dist/ in the clone; the working copy's is not used.
  globalSetup: undefined,
  // One build at a time: npm ci compiles better-sqlite3 and TypeScript on two cores.
  maxWorkers: 1,
  // Each slow step (the build, a start) has its own longer limit where it is awaited.
  testTimeout: 120000,
};
