import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { AccountStore } from '../src/accounts/store.js';
import { testDatabaseUrl } from './helpers/database.js';

let db: Knex;
let store: AccountStore;
let database: Awaited<ReturnType<typeof testDatabaseUrl>>;

beforeAll(async () => {
  database = await testDatabaseUrl();
  db = createKnex(database.url);
  await migrateLatest(db);
  store = new AccountStore(db);
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const profile = (openid: string, extra: Partial<{ unionid: string; appId: string; nickname: string }> = {}) => ({
  appId: extra.appId ?? 'wxapp',
  openid,
  unionid: extra.unionid,
  nickname: extra.nickname ?? '小红🌸',
  headimgurl: '',
});

describe('the account store', () => {
  it('turns two concurrent first registrations of one openid into one account', async () => {
    const results = await Promise.all([
      store.register(profile('o-race')),
      store.register(profile('o-race')),
      store.register(profile('o-race')),
    ]);
    expect(new Set(results.map((a) => a.id)).size).toBe(1);
    expect(await db('accounts').where({ id: results[0].id }).count({ n: '*' })).toEqual([{ n: expect.anything() }]);
    const identities = await db('wechat_identities').where({ openid: 'o-race' });
    expect(identities).toHaveLength(1);
    // No orphan account left behind by the losers.
    const orphans = await db('accounts').whereNotIn('id', db('wechat_identities').select('account_id'));
    expect(orphans).toHaveLength(0);
  });

  it('links a second app identity of the same person by unionid', async () => {
    const a = await store.register(profile('o-official', { unionid: 'u-same', appId: 'wxofficial' }));
    const b = await store.register(profile('o-web', { unionid: 'u-same', appId: 'wxweb' }));
    expect(b.id).toBe(a.id);
    expect((await store.findWithIdentities(a.id))?.identities).toHaveLength(2);
  });

  it('stores 4-byte characters and right-to-left text in nicknames intact', async () => {
    const nickname = '𠮷野家🍜 مرحبا <b>';
    const account = await store.register(profile('o-unicode', { nickname }));
    expect((await store.findById(account.id))?.nickname).toBe(nickname);
  });

  it('rolls back the account when its identity cannot be written', async () => {
    const before = await store.count();
    await expect(store.register(profile(null as unknown as string))).rejects.toBeDefined();
    expect(await store.count()).toBe(before);
  });

  it('undoes only the registration that failed, not the ones made beside it', async () => {
    const before = await store.count();
    const results = await Promise.allSettled([
      store.register(profile('o-beside-1')),
      store.register(profile(null as unknown as string)),
      store.register(profile('o-beside-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.count()).toBe(before + 2);
    expect(await db('wechat_identities').whereIn('openid', ['o-beside-1', 'o-beside-2'])).toHaveLength(2);
  });
});
