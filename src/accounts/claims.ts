import type { Account, WeChatIdentity } from './types.js';

export interface AccountClaims {
  sub: string;
  openid?: string;
  unionid?: string;
  nickname: string;
  name: string;
  headimgurl: string;
  picture?: string;
}

/**
 * Maps a stored account to the claims relying parties receive. `sub` is our own id, never a
 * WeChat id; `openid` is the person's openid under the Official Account when there is one
 * (the one apps need for WeChat Pay JSAPI), otherwise the first identity's.
 */
export function accountClaims(account: Account, identities: WeChatIdentity[], officialAppId: string): AccountClaims {
  const primary = identities.find((i) => i.appId === officialAppId) ?? identities[0];
  const unionid = identities.find((i) => i.unionid)?.unionid;
  const claims: AccountClaims = {
    sub: account.id,
    nickname: account.nickname,
    name: account.nickname,
    headimgurl: account.avatarUrl,
  };
  if (primary) claims.openid = primary.openid;
  if (unionid) claims.unionid = unionid;
  // `picture` must be a URL (OIDC Core 5.1); WeChat sends an empty headimgurl for no avatar.
  if (account.avatarUrl) claims.picture = account.avatarUrl.replace(/^http:\/\//, 'https://');
  return claims;
}
