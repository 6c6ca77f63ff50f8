export type WeChatBrowser = 'wechat' | 'wxwork' | 'other';

/**
 * WeChat's in-app browser says `MicroMessenger`; WeChat Work says both `wxwork` and
 * `MicroMessenger`, and is not the Official Account flow, so it is tested first.
 */
export function detectBrowser(userAgent: string | undefined): WeChatBrowser {
  const ua = userAgent ?? '';
  if (/wxwork/i.test(ua)) return 'wxwork';
  if (/MicroMessenger/i.test(ua)) return 'wechat';
  return 'other';
}
