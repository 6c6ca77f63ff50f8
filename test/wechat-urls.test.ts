import { describe, expect, it } from '@jest/globals';
import { officialAccountAuthorizeUrl } from '../src/wechat/authorize-url.js';
import { detectBrowser } from '../src/wechat/user-agent.js';
import { DESKTOP_UA, WECHAT_UA } from './helpers/browser.js';

const WXWORK_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.10 MicroMessenger/7.0.1 Language/zh';

describe("WeChat's authorize link", () => {
  it('has the five parameters in the exact order WeChat demands, and #wechat_redirect', () => {
    const url = officialAccountAuthorizeUrl({
      openOrigin: 'https://open.weixin.qq.com',
      appId: 'wx520c15f417810387',
      redirectUri: 'https://id.example.com/interaction/abc/wechat/callback',
      scope: 'snsapi_userinfo',
      state: 'a1B2c3',
    });
    expect(url).toBe(
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387' +
        '&redirect_uri=https%3A%2F%2Fid.example.com%2Finteraction%2Fabc%2Fwechat%2Fcallback' +
        '&response_type=code&scope=snsapi_userinfo&state=a1B2c3#wechat_redirect',
    );
  });

  it('refuses a state WeChat would break on', () => {
    const base = { openOrigin: 'https://open.weixin.qq.com', appId: 'wx1', redirectUri: 'https://x/cb', scope: 'snsapi_base' as const };
    expect(() => officialAccountAuthorizeUrl({ ...base, state: 'has-dash' })).toThrow();
    expect(() => officialAccountAuthorizeUrl({ ...base, state: 'a'.repeat(129) })).toThrow();
    expect(() => officialAccountAuthorizeUrl({ ...base, state: '' })).toThrow();
  });
});

describe('telling browsers apart', () => {
  it('recognises WeChat, WeChat Work (before WeChat) and everything else', () => {
    expect(detectBrowser(WECHAT_UA)).toBe('wechat');
    expect(detectBrowser(WXWORK_UA)).toBe('wxwork');
    expect(detectBrowser(DESKTOP_UA)).toBe('other');
    expect(detectBrowser(undefined)).toBe('other');
  });
});
