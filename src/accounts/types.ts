export interface Account {
  id: string; // the OIDC `sub`
  nickname: string;
  avatarUrl: string;
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
