import type { Knex } from 'knex';

export interface Account {
  id: string; // the OIDC `sub`
  nickname: string;
  avatarUrl: string;
  /** Set once the avatar is stored by us (avatars.ts): `picture` is then our address. */
  avatarEtag?: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface WeChatIdentity {
  accountId: string;
  appId: string;
  openid: string;
  unionid: string | undefined;
}

/** What a sign-in learned about the person from WeChat. */
export interface WeChatProfile {
  appId: string;
  openid: string;
  unionid: string | undefined;
  nickname: string;
  headimgurl: string;
}

/**
 * Ends everything the identity provider issued to these accounts (sessions, grants, codes,
 * tokens), in the transaction that blocks or merges them; returns how many records went. The
 * accounts layer knows nothing of OpenID Connect: whoever builds it passes this in.
 */
export type RevokeAccounts = (trx: Knex.Transaction, accountIds: string[]) => Promise<number>;
