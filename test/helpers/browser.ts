import { CookieJar } from 'tough-cookie';

export const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
export const WECHAT_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN';

export interface Page {
  status: number;
  url: string;
  location: string | undefined;
  body: string;
}

/** A person's browser: a cookie jar and a User-Agent, following redirects one at a time. */
export class Browser {
  readonly jar = new CookieJar();

  constructor(private readonly userAgent = DESKTOP_UA) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-language': 'zh-CN' };
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    for (const header of response.headers.getSetCookie()) await this.jar.setCookie(header, url);
    const location = response.headers.get('location') ?? undefined;
    return {
      status: response.status,
      url,
      location: location ? new URL(location, url).href : undefined,
      body: await response.text(),
    };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string> = {}): Promise<Page> {
    return this.request(url, { method: 'POST', form });
  }

  /** Follows redirects while they stay on `origin`; returns the first page that leaves it or is not a redirect. */
  async follow(url: string, origin: string): Promise<Page> {
    let page = await this.get(url);
    for (let hops = 0; page.location && page.location.startsWith(origin + '/') && hops < 10; hops++) {
      page = await this.get(page.location);
    }
    return page;
  }
}
