import { afterAll, afterEach, beforeAll } from '@jest/globals';
import nock from 'nock';
import { startProvider, type RunningProvider } from './provider.js';
import { relyingParty, type RelyingParty } from './relying-party.js';
import type { Logger } from '../../src/log.js';

export interface Suite {
  op: RunningProvider;
  rp: RelyingParty;
}

/**
 * One provider for a test file, with WeChat's API faked by nock (loopback stays real) and a
 * relying party registered as `web-app`. Read `op` and `rp` inside tests, after beforeAll.
 */
export function useProvider(env: Record<string, string | undefined> = {}, options: { logger?: Logger } = {}): Suite {
  const suite = {} as Suite;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    suite.op = await startProvider(env, options);
    suite.rp = await relyingParty(suite.op.issuer);
  });
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    await suite.op.close();
    nock.enableNetConnect();
  });
  return suite;
}
