import type { AccountStore } from '../accounts/store.js';
import type { Account, WeChatProfile } from '../accounts/types.js';
import type { WeChatApp, WeChatClient, WeChatOAuthToken } from '../wechat/client.js';
import type { Logger } from '../log.js';

export type LoginOutcome =
  | { kind: 'signed_in'; account: Account; registered: boolean }
  | { kind: 'snapshot' }
  | { kind: 'blocked'; account: Account };

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
  ) {}

  async complete(app: WeChatApp, code: string): Promise<LoginOutcome> {
    const token = await this.wechat.exchangeCode(app, code);
    // Snapshot users carry virtual ids: never register or match them.
    if (token.isSnapshotUser) return { kind: 'snapshot' };

    const known = await this.accounts.findByIdentity(app.appId, token.openid);
    if (known) {
      if (known.disabled) return { kind: 'blocked', account: known };
      await this.refreshProfile(app, token, known);
      return { kind: 'signed_in', account: known, registered: false };
    }

    const profile = await this.fetchProfile(app, token);
    const account = await this.accounts.register(profile);
    if (account.disabled) return { kind: 'blocked', account };
    return { kind: 'signed_in', account, registered: true };
  }

  /** A returning person: a fresh nickname and avatar are welcome but never block the login. */
  private async refreshProfile(app: WeChatApp, token: WeChatOAuthToken, account: Account): Promise<void> {
    try {
      const info = await this.wechat.userInfo(token.accessToken, token.openid);
      await this.accounts.updateProfile(account.id, {
        appId: app.appId,
        openid: token.openid,
        unionid: info.unionid ?? token.unionid,
        nickname: info.nickname,
        headimgurl: info.headimgurl,
      });
    } catch (error) {
      const { errcode, kind } = error as { errcode?: number; kind?: string };
      this.logger.warn({ event: 'profile_refresh_failed', errcode, kind, accountId: account.id }, 'kept the stored profile');
    }
  }

  /** A new person: make sure the access token still works, then read the profile. */
  private async fetchProfile(app: WeChatApp, first: WeChatOAuthToken): Promise<WeChatProfile> {
    let token = first;
    if (!(await this.wechat.checkToken(token.accessToken, token.openid))) {
      token = await this.wechat.refreshToken(app, token.refreshToken);
    }
    const info = await this.wechat.userInfo(token.accessToken, token.openid);
    return {
      appId: app.appId,
      openid: token.openid,
      unionid: info.unionid ?? token.unionid,
      nickname: info.nickname,
      headimgurl: info.headimgurl,
    };
  }
}
