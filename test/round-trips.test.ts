import { describe, expect, it, jest } from '@jest/globals';
import { Browser, WECHAT_UA, type Page } from './helpers/browser.js';
import { newWeChatUser, wechatNewUser, wechatReturningUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { parseWeChatRedirect } from './helpers/sign-in.js';
import { executorFor } from '../src/db/executor.js';
import { SqliteExecutor } from '../src/db/sqlite-executor.js';

// Every statement is a round trip to PostgreSQL, and under load the database's work per
// statement is what a sign-in costs most. What a returning person's sign-in inside WeChat
// sends, step by step: every read on its own, a step's writes together.
const t = useProvider();

/** Counts the statements sent to the database while `step` runs: prepared ones, and knex's own. */
async function statementsOf<T>(step: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const { db } = t.op.idp;
  const executor = executorFor(db);
  // On SQLite a request's writes go in one transaction of prepared statements: counted as one.
  const spies = [jest.spyOn(executor, 'read'), jest.spyOn(executor, 'write')];
  if (executor instanceof SqliteExecutor) spies.push(jest.spyOn(executor, 'transaction') as never);
  let built = 0;
  // Statements built by knex, a transaction's BEGIN and COMMIT included.
  const count = () => {
    built += 1;
  };
  db.on('query', count);
  try {
    const result = await step();
    return { result, statements: built + spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0) };
  } finally {
    db.off('query', count);
    spies.forEach((spy) => spy.mockRestore());
  }
}

/** A whole sign-in inside WeChat, one redirect at a time; the statements of each step. */
async function signInCounting(browser: Browser, rp: RelyingParty, code: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const step = async (name: string, run: () => Promise<Page>): Promise<Page> => {
    const { result, statements } = await statementsOf(run);
    counts[name] = statements;
    return result;
  };
  const { url, checks } = await rp.start('openid profile', { prompt: 'login' });
  const toWeChat = await step('authorize', () => browser.get(url));
  const redirect = parseWeChatRedirect(toWeChat.location);
  const callback = new URL(redirect.callback);
  callback.searchParams.set('code', code);
  callback.searchParams.set('state', redirect.state);
  // The callback resumes the sign-in itself: straight back to the app.
  const toApp = await step('WeChat callback', () => browser.get(callback.href));
  expect(toApp.location?.startsWith(rp.redirectUri)).toBe(true);
  const { result: tokens, statements } = await statementsOf(() => rp.finish(toApp.location!, checks));
  counts.token = statements;
  expect(tokens.claims()?.nickname).toBeDefined();
  return counts;
}

describe('a returning sign-in inside WeChat', () => {
  it('sends the database no more statements than each step needs', async () => {
    const rp = await relyingParty(t.op.issuer, 'first-party');
    const user = newWeChatUser();
    const browser = new Browser(WECHAT_UA);
    wechatNewUser('rt-code-1', user);
    await signInCounting(browser, rp, 'rt-code-1');

    wechatReturningUser('rt-code-2', user);
    const counts = await signInCounting(browser, rp, 'rt-code-2');
    // Each a round trip on PostgreSQL:
    // - authorize: the browser's session, its account, its grant for the app; WeChat's state
    //   for the new interaction; the interaction (and the session, touched) written together.
    // - WeChat callback: the interaction and its session; WeChat's state spent; the account
    //   WeChat names; the resumed authorization reads the session, the account and the grant,
    //   and sends its writes with the login step's (the interaction ended, the code, the new
    //   session).
    // - token: the code, its session, its grant; the code spent; the account; the tokens.
    // SQLite the same, a request's writes in one transaction.
    expect(counts).toEqual({ authorize: 5, 'WeChat callback': 8, token: 6 });
  });
});
