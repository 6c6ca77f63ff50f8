// `npm run accounts -- <command>`: the operator's view of the accounts in the database named by
// DATABASE_URL: list them, block or unblock one by its `sub`. Migrates an existing database first.
import { parseArgs as parseOptions } from 'node:util';
import type { Knex } from 'knex';
import { commonUsage, oneArgument, out, runCommand, table, time, UsageError } from './cli/command.js';
import { AccountStore } from './accounts/store.js';
import { blockAccount, unblockAccount } from './accounts/blocking.js';

const DEFAULT_LIMIT = 50;

const USAGE = `Usage: npm run accounts -- <command>

  list [--blocked] [--limit N]   newest accounts first (default ${DEFAULT_LIMIT}) with their WeChat
                                 identities; --blocked: only blocked ones
  block <sub>                    block an account: its sign-ins end in access_denied, and its
                                 sessions, refresh and access tokens are revoked at once
  unblock <sub>                  let a blocked account sign in again

${commonUsage(`set up a new database (SQLite file or schema) if there is none; without it a
DATABASE_URL naming an SQLite file that does not exist, or a database the service
never migrated, is refused`)}`;

type Command = { name: 'list'; limit: number; blockedOnly: boolean } | { name: 'block' | 'unblock'; sub: string };

function parseArgs(args: string[]): Command | 'help' {
  const [name, ...rest] = args;
  if (name === undefined) return 'help';
  if (name === 'list') {
    let values: { blocked?: boolean; limit?: string };
    try {
      ({ values } = parseOptions({
        args: rest, options: { blocked: { type: 'boolean' }, limit: { type: 'string' } }, strict: true, allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError(`list: ${(error as Error).message}`);
    }
    const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('list: --limit needs a whole number of 1 or more');
    return { name, limit, blockedOnly: values.blocked ?? false };
  }
  if (name === 'block' || name === 'unblock') {
    return { name, sub: oneArgument(rest, `${name} takes one argument, the account's sub`) };
  }
  throw new UsageError(`unknown command ${name}`);
}

async function run(db: Knex, command: Command): Promise<void> {
  switch (command.name) {
    case 'list': {
      const accounts = await new AccountStore(db).list(command);
      if (accounts.length === 0) {
        out(command.blockedOnly ? 'no blocked accounts\n' : 'no accounts yet\n');
        return;
      }
      out(table([
        ['SUB', 'STATUS', 'CREATED', 'NICKNAME', 'WECHAT IDENTITIES (app id:openid)'],
        ...accounts.map(({ account, identities }) => [
          account.id, account.disabled ? 'blocked' : 'active', time(account.createdAt),
          // One line per account: a nickname may hold line breaks or tabs.
          JSON.stringify(account.nickname).slice(1, -1),
          identities.map((identity) => `${identity.appId}:${identity.openid}`).join(' '),
        ]),
      ]));
      return;
    }
    case 'block': {
      const result = await blockAccount(db, command.sub);
      if (!result.found) throw new Error(`no account with sub ${command.sub}`);
      out(`blocked ${command.sub}; revoked ${result.revoked} session and token record${result.revoked === 1 ? '' : 's'}\n`);
      return;
    }
    case 'unblock': {
      const result = await unblockAccount(db, command.sub);
      if (!result.found) throw new Error(`no account with sub ${command.sub}`);
      out(`unblocked ${command.sub}\n`);
      return;
    }
  }
}

await runCommand({ program: 'accounts', usage: USAGE, parse: parseArgs, schema: 'migrated', run });
