export type WeChatScope = 'snsapi_base' | 'snsapi_userinfo';

/** What WeChat takes as `state`: 1 to 128 letters and digits (wechat.md). */
export const WECHAT_STATE = /^[A-Za-z0-9]{1,128}$/;

/**
 * WeChat opens its authorize page only for a link whose five parameters come in exactly this
 * order and that ends in `#wechat_redirect` (wechat.md, "The authorize URL"): the string is
 * built by hand, not with URLSearchParams, so nothing can reorder it.
 */
export function officialAccountAuthorizeUrl(input: {
  openOrigin: string;
  appId: string;
  redirectUri: string;
  scope: WeChatScope;
  state: string;
}): string {
  if (!WECHAT_STATE.test(input.state)) throw new Error('WeChat state must be 1-128 characters of [A-Za-z0-9]');
  return (
    `${input.openOrigin}/connect/oauth2/authorize` +
    `?appid=${encodeURIComponent(input.appId)}` +
    `&redirect_uri=${encodeURIComponent(input.redirectUri)}` +
    `&response_type=code` +
    `&scope=${input.scope}` +
    `&state=${input.state}` +
    `#wechat_redirect`
  );
}

/**
 * The website app's QR sign-in page, for browsers outside WeChat: the same five parameters in
 * the same order, with `snsapi_login` (wechat.md, "The authorize URL").
 */
export function qrConnectUrl(input: { openOrigin: string; appId: string; redirectUri: string; state: string }): string {
  if (!WECHAT_STATE.test(input.state)) throw new Error('WeChat state must be 1-128 characters of [A-Za-z0-9]');
  return (
    `${input.openOrigin}/connect/qrconnect` +
    `?appid=${encodeURIComponent(input.appId)}` +
    `&redirect_uri=${encodeURIComponent(input.redirectUri)}` +
    `&response_type=code` +
    `&scope=snsapi_login` +
    `&state=${input.state}` +
    `#wechat_redirect`
  );
}
