import type { AccountStore } from '../accounts/store.js';
import type { AvatarStore } from '../accounts/avatars.js';
import type { Account, WeChatProfile } from '../accounts/types.js';
import type { MergeResult } from '../accounts/merge.js';
import type { WeChatApp, WeChatClient, WeChatOAuthToken } from '../wechat/client.js';
import type { Logger } from '../log.js';
import { WeChatError } from '../wechat/errors.js';

// What /sns/userinfo answers for an access token it no longer takes (wechat.md: 42001
// expired; 40001 at the sns endpoints means the token, not the AppSecret, is invalid).
const STALE_TOKEN_ERRCODES = new Set([42001, 40001]);

export type LoginOutcome =
  { kind: 'signed_in'; account: Account; registered: boolean } | { kind: 'snapshot' } | { kind: 'blocked'; account: Account };

/** A silent (`snsapi_base`) sign-in: an outcome, or "not known here, ask for the profile". */
export type SilentOutcome = LoginOutcome | { kind: 'unknown' };

/**
 * What happens between WeChat's callback and "this is account X" (wechat.md, the
 * snsapi_userinfo steps). WeChat failures surface as WeChatError; nothing is written to the
 * database until WeChat has said everything it needs to, and then in one transaction.
 */
export class WeChatLogin {
  constructor(
    private readonly wechat: WeChatClient,
    private readonly accounts: AccountStore,
    private readonly logger: Logger,
    /**
     * Merges the accounts sharing a unionid into the oldest; that account's id (accounts/merge.ts).
     * `browserSession`: the uid of the session this sign-in will replace, left for it to replace.
     */
    private readonly mergeSharing: (unionid: string, browserSession?: string) => Promise<MergeResult>,
    private readonly avatars?: AvatarStore,
  ) {}

  /**
   * `browserSession`: the uid of the browser's session, which the sign-in replaces once it is
   * done. `spendOnce`: the code is not sent again after WeChat answered (the token exchange).
   */
  async complete(app: WeChatApp, code: string, browserSession?: string, options: { spendOnce?: boolean } = {}): Promise<LoginOutcome> {
    const token = await this.wechat.exchangeCode(app, code, options);
    // Snapshot users carry virtual ids: never register or match them.
    if (token.isSnapshotUser) return { kind: 'snapshot' };

    const found = await this.accounts.findForSignIn(app.appId, token.openid);
    if (found) {
      const known = found.account;
      if (known.disabled) return { kind: 'blocked', account: known };
      const newUnionid = await this.refreshProfile(app, token, known, found.identityUnionid);
      const account = newUnionid ? await this.mergedAccount(newUnionid, known, browserSession) : known;
      if (account.disabled) return { kind: 'blocked', account };
      return { kind: 'signed_in', account, registered: false };
    }

    return this.registered(await this.fetchProfile(app, token), browserSession);
  }

  /**
   * A mini-program's `wx.login` code. WeChat gives an openid (and a unionid when the
   * mini-program is bound to the Open Platform), never a nickname or avatar: a known person
   * keeps the profile their account has, a new one gets an account without one. A unionid
   * seen for the first time ties the identity to the person's others, as in `complete`.
   */
  async completeMini(app: WeChatApp, code: string): Promise<LoginOutcome> {
    const { openid, unionid } = await this.wechat.jscode2session(app, code);
    const found = await this.accounts.findForSignIn(app.appId, openid);
    if (!found) return this.registered({ appId: app.appId, openid, unionid, nickname: '', headimgurl: '' }, undefined);
    if (found.account.disabled) return { kind: 'blocked', account: found.account };
    const attached = unionid && !found.identityUnionid ? await this.accounts.attachUnionid(app.appId, openid, unionid) : false;
    const account = attached ? await this.mergedAccount(unionid!, found.account, undefined) : found.account;
    if (account.disabled) return { kind: 'blocked', account };
    return { kind: 'signed_in', account, registered: false };
  }

  /** A first sign-in: the identity and its account (or the account its unionid already has). */
  private async registered(profile: WeChatProfile, browserSession: string | undefined): Promise<LoginOutcome> {
    let registered = await this.accounts.register(profile);
    // The identity joined an account the person already had (same unionid), perhaps one
    // without a profile (known from a mini-program only): WeChat's just read is the newest.
    if (profile.nickname && (registered.nickname !== profile.nickname || registered.avatarUrl !== profile.headimgurl)) {
      await this.accounts.updateProfile(registered.id, profile);
      registered = { ...registered, nickname: profile.nickname, avatarUrl: profile.headimgurl };
    }
    this.avatars?.refreshInBackground(registered.id, profile.headimgurl, registered.avatarEtag !== undefined);
    // Two first sign-ins through different apps at once may each have made an account
    // (not where registrations are serialized: the second found the first one's account).
    const mayHaveTwin = profile.unionid && !this.accounts.registrationsAreSerialized;
    const account = mayHaveTwin ? await this.mergedAccount(profile.unionid!, registered, browserSession) : registered;
    if (account.disabled) return { kind: 'blocked', account };
    return { kind: 'signed_in', account, registered: true };
  }

  /**
   * After `snsapi_base` WeChat gives an openid and nothing else (userinfo answers 48001): a
   * known identity signs in as it is, with no profile refresh; anyone else must go through
   * `snsapi_userinfo` to be registered.
   */
  async completeSilent(app: WeChatApp, code: string): Promise<SilentOutcome> {
    const token = await this.wechat.exchangeCode(app, code);
    if (token.isSnapshotUser) return { kind: 'snapshot' };
    const known = await this.accounts.findByIdentity(app.appId, token.openid);
    if (!known) return { kind: 'unknown' };
    if (known.disabled) return { kind: 'blocked', account: known };
    return { kind: 'signed_in', account: known, registered: false };
  }

  /** The account that owns `unionid` once any duplicates are merged into the oldest. */
  private async mergedAccount(unionid: string, account: Account, browserSession: string | undefined): Promise<Account> {
    const { owner, merged } = await this.mergeSharing(unionid, browserSession);
    // After a merge the account that stays is read again: it may have inherited a block.
    if (!owner || (owner === account.id && !merged)) return account;
    return (await this.accounts.findById(owner)) ?? account;
  }

  /**
   * A returning person: a fresh nickname and avatar are welcome but never block the login.
   * Returns the unionid when it was just attached to this identity (it was unknown before).
   */
  private async refreshProfile(
    app: WeChatApp,
    token: WeChatOAuthToken,
    account: Account,
    storedUnionid: string | undefined,
  ): Promise<string | undefined> {
    try {
      const info = await this.wechat.userInfo(token.accessToken, token.openid);
      const unionid = info.unionid ?? token.unionid;
      // A new avatar URL (or one never stored): keep the image, beside the sign-in.
      if (info.headimgurl !== account.avatarUrl || !account.avatarEtag)
        this.avatars?.refreshInBackground(account.id, info.headimgurl, account.avatarEtag !== undefined);
      // Most returning people changed nothing: then nothing is written.
      const unchanged = info.nickname === account.nickname && info.headimgurl === account.avatarUrl && (!unionid || storedUnionid);
      if (unchanged) return undefined;
      const attached = await this.accounts.updateProfile(account.id, {
        appId: app.appId,
        openid: token.openid,
        unionid,
        nickname: info.nickname,
        headimgurl: info.headimgurl,
      });
      return attached ? unionid : undefined;
    } catch (error) {
      const { errcode, kind } = error as { errcode?: number; kind?: string };
      this.logger.warn({ event: 'profile_refresh_failed', errcode, kind, accountId: account.id }, 'kept the stored profile');
      return undefined;
    }
  }

  /**
   * A new person: read the profile with the token just issued. WeChat may still call it
   * stale (42001, or 40001 "not the latest token"): then refresh it once and read again. A
   * separate /sns/auth check before every read would cost a round trip to catch that rare case.
   */
  private async fetchProfile(app: WeChatApp, token: WeChatOAuthToken): Promise<WeChatProfile> {
    let info;
    let openid = token.openid;
    try {
      info = await this.wechat.userInfo(token.accessToken, openid);
    } catch (error) {
      if (!(error instanceof WeChatError) || !STALE_TOKEN_ERRCODES.has(error.errcode ?? 0)) throw error;
      const fresh = await this.wechat.refreshToken(app, token.refreshToken);
      openid = fresh.openid;
      info = await this.wechat.userInfo(fresh.accessToken, openid);
    }
    return {
      appId: app.appId,
      openid,
      unionid: info.unionid ?? token.unionid,
      nickname: info.nickname,
      headimgurl: info.headimgurl,
    };
  }
}
