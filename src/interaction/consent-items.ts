/** How each scope reads on the consent page: what the app will receive, in plain words. */
const SCOPE_ITEMS: Record<string, { zh: string; en: string }> = {
  openid: { zh: '你的账号标识（含微信 openid）', en: 'Your account id (including your WeChat openid)' },
  profile: { zh: '你的微信昵称和头像', en: 'Your WeChat nickname and avatar' },
  offline_access: { zh: '在你离开后继续访问以上信息', en: 'Keep access to the above while you are away' },
};

export function consentItems(scopes: string[]): { zh: string; en: string }[] {
  return scopes.map((scope) => SCOPE_ITEMS[scope] ?? { zh: scope, en: scope });
}
