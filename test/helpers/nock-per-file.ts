import { afterAll } from '@jest/globals';

// Jest gives each test file its own copy of nock, and each copy patches Node's http module on
// import. Left in place, a file's patch stays under the next file's (in the same worker), and
// a request the next file lets fail (a download nobody mocked) fails twice, once in an
// interceptor nobody listens to any more. Each file takes its patch out when it is done.
// Imported here only at the end: a file that never uses nock runs with Node's http as it is.
afterAll(async () => {
  const { default: nock } = await import('nock');
  nock.restore();
});
