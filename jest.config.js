// test/postgres/ needs a PostgreSQL server itself (one that goes away, its planner, its
// statistics): those files run when TEST_DATABASE_URL names PostgreSQL, as in CI, and are left
// out otherwise (the global setup says so), so that `npm test` needs nothing but Node.
const onPostgres = /^postgres(ql)?:\/\//.test(process.env.TEST_DATABASE_URL ?? '');

// Jest runs the TypeScript sources as native ES modules (oidc-provider and
// openid-client are ESM-only): @swc/jest strips the types, Node's VM modules load them.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import './x.js' as NodeNext wants; map those back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/helpers/expected-warnings.ts', '<rootDir>/test/helpers/nock-per-file.ts'],
  // The browser tests need Chromium, the release test minutes and PostgreSQL: each has its own
  // config (jest.browser.config.js, jest.release.config.js).
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/browser/',
    '<rootDir>/test/release/',
    ...(onPostgres ? [] : ['<rootDir>/test/postgres/']),
  ],
  testTimeout: 30000,
  // A test that fails halfway can leave a server or child process behind; the run must still
  // end with its report rather than wait on that handle.
  forceExit: true,
  // `dist/` is built once for the tests that run the compiled commands.
  globalSetup: '<rootDir>/test/global-setup.js',
};
