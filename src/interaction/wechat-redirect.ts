import type { WeChatApp } from '../wechat/client.js';
import { interactionPath } from '../oidc/routes.js';
import { officialAccountAuthorizeUrl, type WeChatScope } from '../wechat/authorize-url.js';
import type { StateStore } from './states.js';

export interface WeChatRedirectDeps {
  states: StateStore;
  /** The Official Account: sign-in inside WeChat. */
  wechatApp: WeChatApp;
  openOrigin: string;
  issuer: string;
  /** WECHAT_SILENT_LOGIN: inside WeChat, `snsapi_base` first (see WeChatLogin.completeSilent). */
  silentLogin?: boolean;
}

/** Where WeChat sends the browser back to: under /interaction/:uid, where the interaction cookie goes. */
export const wechatCallbackFor = (issuer: string, uid: string) => `${issuer}${interactionPath(uid)}/wechat/callback`;

/**
 * The Official Account's authorization for one interaction: its first scope, and the link to
 * WeChat with a fresh state. Used by the login step and by /auth itself inside WeChat.
 */
export class OfficialAccountRedirect {
  constructor(private readonly deps: WeChatRedirectDeps) {}

  /** Silent first for the people we may know, when the operator turned it on. */
  firstScope(): WeChatScope {
    return this.deps.silentLogin ? 'snsapi_base' : 'snsapi_userinfo';
  }

  /**
   * WeChat's authorization link for the interaction `uid`, with a new state; `scope` by default
   * the first; back to the login step's callback unless `redirectUri` says otherwise (a phone
   * confirming a desktop sign-in comes back to its own).
   */
  async url(uid: string, scope: WeChatScope = this.firstScope(), redirectUri = wechatCallbackFor(this.deps.issuer, uid)): Promise<string> {
    const { states, wechatApp, openOrigin } = this.deps;
    const state = await states.issue({ uid, appId: wechatApp.appId, scope });
    return officialAccountAuthorizeUrl({ openOrigin, appId: wechatApp.appId, redirectUri, scope, state });
  }
}
