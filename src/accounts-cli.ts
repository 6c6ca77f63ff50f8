// `npm run accounts -- <command>`: the operator's view of the accounts in the database named by
// DATABASE_URL: list or find them, block or unblock one by its `sub`. Migrates an existing
// database first.
import { parseArgs as parseOptions } from 'node:util';
import type { Knex } from 'knex';
import { commonUsage, note, oneArgument, out, plural, runCommand, table, time, UsageError } from './cli/command.js';
import { AccountStore, type AccountListing } from './accounts/store.js';
import { blockAccount, unblockAccount } from './accounts/blocking.js';
import { revokeAccounts } from './oidc/stored-rows.js';

const DEFAULT_LIMIT = 50;

/** The most accounts `find` shows: a search matching more wants more of the text. */
const FIND_LIMIT = 50;

const USAGE = `Usage: npm run accounts -- <command>

  list [--blocked] [--limit N]   newest accounts first (default ${DEFAULT_LIMIT}) with their WeChat
                                 identities; --blocked: only blocked ones
  find <text>                    the accounts whose WeChat openid or unionid, or whose sub, is
                                 the text, or whose nickname contains it (any case); shown as
                                 by list, newest ${FIND_LIMIT} at most. Text starting with -: find -- <text>
  block <sub>                    block an account: its sign-ins end in access_denied, and its
                                 sessions, refresh and access tokens are revoked at once;
                                 an account blocked already is left as it is
  unblock <sub>                  let a blocked account sign in again

${commonUsage(`set up a new database (SQLite file or schema) if there is none; without it a
DATABASE_URL naming an SQLite file that does not exist, or a database the service
never migrated, is refused`)}`;

type Command =
  { name: 'list'; limit: number; blockedOnly: boolean } | { name: 'find'; text: string } | { name: 'block' | 'unblock'; sub: string };

function parseArgs(args: string[]): Command | 'help' {
  const [name, ...rest] = args;
  if (name === undefined) return 'help';
  if (name === 'list') {
    let values: { blocked?: boolean; limit?: string };
    try {
      ({ values } = parseOptions({
        args: rest,
        options: { blocked: { type: 'boolean' }, limit: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError(`list: ${(error as Error).message}`);
    }
    const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('list: --limit needs a whole number of 1 or more');
    return { name, limit, blockedOnly: values.blocked ?? false };
  }
  if (name === 'find') return { name, text: oneArgument(rest, 'find takes one argument, the text to look for') };
  if (name === 'block' || name === 'unblock') {
    return { name, sub: oneArgument(rest, `${name} takes one argument, the account's sub`) };
  }
  throw new UsageError(`unknown command ${name}`);
}

/** One line per account: a nickname may hold line breaks or tabs. */
function accountTable(accounts: AccountListing[]): string {
  return table([
    ['SUB', 'STATUS', 'CREATED', 'NICKNAME', 'WECHAT IDENTITIES (app id:openid)'],
    ...accounts.map(({ account, identities }) => [
      account.id,
      account.disabled ? 'blocked' : 'active',
      time(account.createdAt),
      JSON.stringify(account.nickname).slice(1, -1),
      identities.map((identity) => `${identity.appId}:${identity.openid}`).join(' '),
    ]),
  ]);
}

async function run(db: Knex, command: Command): Promise<void> {
  const store = new AccountStore(db);
  switch (command.name) {
    case 'list': {
      const accounts = await store.list(command);
      if (accounts.length === 0) {
        out(command.blockedOnly ? 'no blocked accounts\n' : 'no accounts yet\n');
        return;
      }
      out(accountTable(accounts));
      return;
    }
    case 'find': {
      // One more than shown tells whether there are more.
      const accounts = await store.find(command.text, { limit: FIND_LIMIT + 1 });
      if (accounts.length === 0) {
        out(`no account matches ${command.text}\n`);
        return;
      }
      out(accountTable(accounts.slice(0, FIND_LIMIT)));
      if (accounts.length > FIND_LIMIT) note(`more than ${FIND_LIMIT} accounts match: showing the newest ${FIND_LIMIT}\n`);
      return;
    }
    case 'block': {
      const result = await blockAccount(db, command.sub, revokeAccounts);
      if (!result.found) throw new Error(`no account with sub ${command.sub}`);
      if (result.alreadyBlocked) {
        out(`${command.sub} is already blocked; nothing changed\n`);
        return;
      }
      out(`blocked ${command.sub}; revoked ${plural(result.revoked, 'session and token record')}\n`);
      return;
    }
    case 'unblock': {
      const result = await unblockAccount(db, command.sub);
      if (!result.found) throw new Error(`no account with sub ${command.sub}`);
      out(result.alreadyActive ? `${command.sub} is not blocked; nothing changed\n` : `unblocked ${command.sub}\n`);
      return;
    }
  }
}

await runCommand({ program: 'accounts', usage: USAGE, parse: parseArgs, schema: 'migrated', run });
