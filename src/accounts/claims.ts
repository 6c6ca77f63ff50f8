import type { Account, WeChatIdentity } from './types.js';
import { avatarPath } from './avatar-route.js';
import { isWeChatAvatarHost } from './avatars.js';

export interface AccountClaims {
  sub: string;
  openid?: string;
  /** The WeChat app `openid` belongs to (an openid means nothing without its app). */
  wechat_appid?: string;
  unionid?: string;
  nickname?: string;
  name?: string;
  headimgurl?: string;
  picture?: string;
}

/**
 * Maps a stored account to the claims relying parties receive. `sub` is our own id, never a
 * WeChat id; `openid` is the person's openid under the Official Account when there is one
 * (the one apps need for WeChat Pay JSAPI), otherwise the first identity's (the website
 * app's), with `wechat_appid` naming which.
 */
export function accountClaims(account: Account, identities: WeChatIdentity[], officialAppId: string, issuer: string): AccountClaims {
  const primary = identities.find((i) => i.appId === officialAppId) ?? identities[0];
  const unionid = identities.find((i) => i.unionid)?.unionid;
  const claims: AccountClaims = { sub: account.id };
  // WeChat gives no profile to a mini-program: an account known only from one has none, and
  // says so by leaving the claims out (an empty nickname would read as a name).
  if (account.nickname) {
    claims.nickname = account.nickname;
    claims.name = account.nickname;
  }
  if (account.avatarUrl) claims.headimgurl = securePicture(account.avatarUrl);
  if (primary) {
    claims.openid = primary.openid;
    claims.wechat_appid = primary.appId;
  }
  if (unionid) claims.unionid = unionid;
  // `picture` must be a URL (OIDC Core 5.1); WeChat sends an empty headimgurl for no avatar.
  // Ours once the avatar is stored (WeChat's URLs stop working), WeChat's until then.
  if (account.avatarEtag) claims.picture = issuer + avatarPath(account.id, account.avatarEtag);
  else if (account.avatarUrl) claims.picture = securePicture(account.avatarUrl);
  return claims;
}

/**
 * WeChat's avatar hosts (thirdwx.qlogo.cn, wx.qlogo.cn) answer the same URL on https, which
 * an https page can show. Only theirs: another host (the sandbox's, on a plain-http
 * development server) may not answer https at all.
 */
function securePicture(url: string): string {
  const host = /^http:\/\/([^/:?#]+)/i.exec(url)?.[1];
  return host && isWeChatAvatarHost(host) ? `https://${url.slice('http://'.length)}` : url;
}
