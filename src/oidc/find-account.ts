import type { FindAccount } from 'oidc-provider';
import type { AccountStore } from '../accounts/store.js';
import { accountClaims } from '../accounts/claims.js';

/**
 * oidc-provider asks for the account behind a `sub` whenever it issues an ID token or answers
 * userinfo. A disabled or deleted account yields nothing, which makes its tokens useless.
 */
export function findAccountFor(accounts: AccountStore, officialAppId: string, issuer: string): FindAccount {
  return async (_ctx, sub) => {
    const found = await accounts.findWithIdentities(sub);
    if (!found || found.account.disabled) return undefined;
    const { account, identities } = found;
    const claims = accountClaims(account, identities, officialAppId, issuer);
    return {
      accountId: account.id,
      async claims() {
        return { ...claims };
      },
    };
  };
}
