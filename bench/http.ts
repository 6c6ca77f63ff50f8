import { CookieJar } from 'tough-cookie';

/** One person's browser: a cookie jar and WeChat's in-app User-Agent. No redirects followed
 * by itself: the benchmark walks each hop, as a browser does. */
export class Browser {
  readonly jar = new CookieJar();

  /** `language` is sent as Accept-Language. */
  constructor(
    private readonly userAgent: string,
    private readonly language = 'zh-CN',
  ) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-language': this.language };
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    for (const header of response.headers.getSetCookie()) await this.jar.setCookie(header, url);
    return response;
  }
}

export const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
  'Mobile/15E148 MicroMessenger/8.0.50(0x1800322c) NetType/WIFI Language/zh_CN';
