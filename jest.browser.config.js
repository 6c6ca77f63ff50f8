// The browser tests: real Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// through the whole sign-in as a person clicks it. Kept out of `npm test` so that the main
// suite needs no browser; run with `npm run test:browser`.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Nothing here runs the compiled commands, so no build first.
  globalSetup: undefined,
  // One Chromium at a time: two cores are shared by the browser and the provider under test.
  maxWorkers: 1,
  testTimeout: 60000,
};
