import { describe, expect, it, jest } from '@jest/globals';
import { Browser, WECHAT_UA, type Page } from './helpers/browser.js';
import { newWeChatUser, wechatNewUser, wechatReturningUser } from './helpers/wechat.js';
import { useProvider } from './helpers/setup.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { parseWeChatRedirect } from './helpers/sign-in.js';
import { executorFor, isSqlite } from '../src/db/executor.js';

// Every statement is a round trip to PostgreSQL, and under load the database's work per
// statement is what a sign-in costs most. What a returning person's sign-in inside WeChat
// sends, step by step: reads that belong together go as one, a step's writes go together, and
// on PostgreSQL the login step's state travels with the interaction's read.
const t = useProvider();

/** Counts the statements sent to the database while `step` runs. */
async function statementsOf<T>(step: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const executor = executorFor(t.op.idp.db) as unknown as Record<string, (...args: unknown[]) => unknown>;
  const spies = ['read', 'write', 'atomic'].filter((name) => typeof executor[name] === 'function').map((name) => jest.spyOn(executor, name as never));
  try {
    const result = await step();
    return { result, statements: spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0) };
  } finally {
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
    const sqlite = isSqlite(t.op.idp.db);
    expect(counts).toEqual({
      // The session and its grant for this app read together; the new interaction written,
      // and the state for WeChat with it. (Inside WeChat there is no login page to stop at.)
      authorize: 2,
      // The interaction read with its session and the account the browser is signed in as,
      // which is the one WeChat names, and the state spent (together on PostgreSQL); the
      // sign-in resumed from what that read brought, and its writes (the interaction ended,
      // the code, the session) sent together.
      'WeChat callback': sqlite ? 3 : 2,
      // The code with its grant, session and account; its spending and the tokens written.
      token: 2,
    });
  });
});
