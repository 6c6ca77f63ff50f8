import type { CookieJar } from 'tough-cookie';
import { Browser as RawBrowser } from '../../bench/http.js';

export const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
export const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN';

export interface Page {
  status: number;
  url: string;
  location: string | undefined;
  body: string;
}

/** A person's browser: a cookie jar and a User-Agent, following redirects one at a time.
 * The benchmark's browser, with each answer read into a `Page`. */
export class Browser {
  private readonly raw: RawBrowser;

  /** `language` is sent as Accept-Language: pages are in Chinese unless it prefers English. */
  constructor(userAgent = DESKTOP_UA, language = 'zh-CN') {
    this.raw = new RawBrowser(userAgent, language);
  }

  get jar(): CookieJar {
    return this.raw.jar;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const response = await this.raw.request(url, init);
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

  /** Goes on from `page` while its redirects stay on `origin` (see follow); `page` itself when it leaves. */
  after(page: Page, origin: string): Promise<Page> {
    return page.location?.startsWith(origin + '/') ? this.follow(page.location, origin) : Promise.resolve(page);
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
