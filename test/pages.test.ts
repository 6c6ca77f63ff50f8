import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, DESKTOP_UA } from './helpers/browser.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { openLoginPage, sandboxForm } from './helpers/sign-in.js';

// What every page owes the person reading it: headers that keep it out of frames and keep
// codes out of Referer, nothing the Content Security Policy would block, their language, and
// names shown as text. The sandbox plays WeChat, so no WeChat fake is needed.
let op: RunningProvider;
let rp: RelyingParty;

beforeAll(async () => {
  op = await startProvider({ WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined });
  rp = await relyingParty(op.issuer);
});
afterAll(() => op.close());

const TRICKY_NICKNAME = '<img src=x onerror=alert(1)>小明😀';
const ESCAPED_NICKNAME = '&lt;img src=x onerror=alert(1)&gt;小明😀';
const HAN = /\p{Script=Han}/u;

/** One page, fetched as a browser would, with its headers. */
async function fetchPage(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, { headers: { 'user-agent': DESKTOP_UA, ...headers }, redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The text between <main …> and </main>, tags removed: what the page says. */
function mainText(body: string): string {
  const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(body)?.[1] ?? '';
  return main
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The first element `tag`'s text. */
function textOf(body: string, tag: string): string {
  return (new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`).exec(body)?.[1] ?? '').replace(/<[^>]+>/g, '').trim();
}

/**
 * From an authorization request (an app's URL, or the demo's /demo/login) to the sandbox's
 * "allow" by a new test user: the sign-in page's URL and WeChat's redirect back.
 */
async function allowAtWeChat(browser: Browser, authUrl: string, nickname: string): Promise<{ signIn: string; callback: string }> {
  const { page, uid } = await openLoginPage(browser, op.issuer, authUrl);
  const toWeChat = await browser.get(`${op.issuer}/interaction/${uid}/wechat`);
  const allowed = await browser.post(
    `${op.issuer}/sandbox/connect/oauth2/authorize`,
    sandboxForm(toWeChat.location!, { action: 'create', nickname }),
  );
  return { signIn: page.url, callback: allowed.location! };
}

/** Through WeChat to the consent page of `authUrl`'s app. */
async function toConsent(browser: Browser, authUrl: string, nickname: string): Promise<{ signIn: string; url: string; body: string }> {
  const { signIn, callback } = await allowAtWeChat(browser, authUrl, nickname);
  const consent = await browser.follow(callback, op.issuer);
  expect(textOf(consent.body, 'h1')).toMatch(/请求获取你的信息$/);
  return { signIn, url: consent.url, body: consent.body };
}

function expectSecurityHeaders(headers: Headers): void {
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toMatch(/(^|;)\s*script-src 'self'/);
  expect(csp).toContain("script-src-attr 'none'");
  expect(csp).toMatch(/(^|;)\s*style-src 'self'(;|$)/);
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('x-content-type-options')).toBe('nosniff');
}

/** Nothing CSP would block: no inline script, no style attribute, no event-handler attribute. */
function expectNothingInline(body: string): void {
  expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(body).not.toMatch(/<[^>]+\sstyle=/i);
  expect(body).not.toMatch(/<[^>]+\son[a-z]+=/i);
  expect(body).not.toMatch(/<style[\s>]/i);
}

describe('security headers and inline content', () => {
  it('sends them on our pages, which hold no inline script or style', async () => {
    const paths = [
      '/',
      '/demo',
      '/message/wechat_unavailable',
      '/interaction/gone',
      '/no/such/page',
      '/sandbox/connect/oauth2/authorize?x=1',
    ];
    for (const path of paths) {
      const page = await fetchPage(`${op.issuer}${path}`);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expectSecurityHeaders(page.headers);
      expectNothingInline(page.body);
    }
  });

  it('sends them on the sign-in, sandbox WeChat and consent pages of a sign-in under way', async () => {
    const browser = new Browser();
    const again = async (url: string) => fetchPage(url, { cookie: await browser.jar.getCookieString(url) });
    const { url } = await rp.start();
    const { page, uid } = await openLoginPage(browser, op.issuer, url);
    const wechatLink = (await browser.get(`${op.issuer}/interaction/${uid}/wechat`)).location!;
    const consent = await toConsent(browser, (await rp.start()).url, '安全头');
    for (const shown of [await again(page.url), await fetchPage(wechatLink), await again(consent.url)]) {
      expect(shown.status).toBe(200);
      expectSecurityHeaders(shown.headers);
      expectNothingInline(shown.body);
    }
  });

  it("sends them on oidc-provider's own pages: sign-out confirmation and errors", async () => {
    const browser = new Browser();
    const consent = await toConsent(browser, `${op.issuer}/demo/login`, '要退出');
    await browser.after(await browser.post(`${consent.url}/confirm`), op.issuer);
    const endUrl = `${op.issuer}/session/end`;
    const logout = await fetchPage(endUrl, { cookie: await browser.jar.getCookieString(endUrl) });
    expect(logout.status).toBe(200);
    expect(textOf(logout.body, 'h1')).toBe('退出登录？');
    expectSecurityHeaders(logout.headers);
    expectNothingInline(logout.body);

    // Without a session oidc-provider answers with its self-submitting form: its one inline
    // script runs because the policy names that script's hash, not because inline is allowed.
    const autoSubmit = await fetchPage(endUrl);
    const script = /<script>([\s\S]*?)<\/script>/.exec(autoSubmit.body)?.[1];
    expect(script).toBeDefined();
    const hash = createHash('sha256').update(script!).digest('base64');
    expect(autoSubmit.headers.get('content-security-policy')).toContain(`script-src 'self' 'sha256-${hash}'`);
    expectSecurityHeaders(autoSubmit.headers);

    const unknownApp = await fetchPage(`${op.issuer}/auth?client_id=nope&response_type=code&scope=openid`);
    expect(unknownApp.status).toBe(400);
    expectSecurityHeaders(unknownApp.headers);
    expectNothingInline(unknownApp.body);
  });

  it('serves its one stylesheet itself', async () => {
    const page = await fetchPage(`${op.issuer}/`);
    const links = [...page.body.matchAll(/<link [^>]*href="([^"]+)"/g)].map((match) => match[1]);
    expect(links).toEqual(['/static/style.css', '/static/favicon.svg']);
    const css = await fetchPage(`${op.issuer}/static/style.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.body).toContain('#07c160');
    expect(css.body).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//);
  });
});

describe('language', () => {
  it('writes the sign-in page in Chinese by default, with no English in its main sentence', async () => {
    const { url } = await rp.start();
    const { page } = await openLoginPage(new Browser(DESKTOP_UA, 'fr-FR,fr;q=0.9'), op.issuer, url);
    expect(page.body).toContain('<html lang="zh-CN">');
    const lead = textOf(page.body, 'p');
    expect(lead).toMatch(HAN);
    expect(lead).not.toMatch(/[A-Za-z]/);
    expect(page.body).toContain('>English</a>');
  });

  it('writes it in English when Accept-Language prefers English, with no Chinese in it', async () => {
    const { url } = await rp.start();
    const { page } = await openLoginPage(new Browser(DESKTOP_UA, 'en-GB,en;q=0.9,zh-CN;q=0.5'), op.issuer, url);
    expect(page.body).toContain('<html lang="en">');
    expect(textOf(page.body, 'h1')).toBe('Sign in to Web &lt;App&gt; 🍜');
    expect(mainText(page.body)).not.toMatch(HAN);
    expect(textOf(page.body, 'title')).not.toMatch(HAN);
    // The switch back names the other language in that language.
    expect(page.body).toContain('>中文</a>');
  });

  it('prefers Chinese when the browser weighs it higher than English', async () => {
    const page = await fetchPage(`${op.issuer}/`, { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' });
    expect(page.body).toContain('<html lang="zh-CN">');
  });

  it('switches with /lang/:lang, remembers the choice in a cookie, and returns only to a page of ours', async () => {
    const browser = new Browser(DESKTOP_UA, 'zh-CN');
    const switched = await browser.get(`${op.issuer}/lang/en?back=${encodeURIComponent('/demo?x=1')}`);
    expect(switched.status).toBe(303);
    expect(switched.location).toBe(`${op.issuer}/demo?x=1`);
    expect(await browser.jar.getCookieString(op.issuer)).toContain('lang=en');
    const demo = await browser.get(`${op.issuer}/demo`);
    expect(demo.body).toContain('<html lang="en">');
    expect(mainText(demo.body)).not.toMatch(HAN);

    for (const back of ['//evil.example/x', '/\\evil.example', 'https://evil.example/']) {
      const page = await browser.get(`${op.issuer}/lang/zh-CN?back=${encodeURIComponent(back)}`);
      expect(page.location).toBe(`${op.issuer}/`);
    }
    expect((await browser.get(`${op.issuer}/demo`)).body).toContain('<html lang="zh-CN">');
  });

  it('takes ?lang= on any page and keeps it for the next ones', async () => {
    const browser = new Browser(DESKTOP_UA, 'zh-CN');
    const page = await browser.get(`${op.issuer}/message/wechat_unavailable?lang=en`);
    expect(textOf(page.body, 'h1')).toBe('WeChat is not responding');
    expect(await browser.jar.getCookieString(op.issuer)).toContain('lang=en');
    expect(textOf((await browser.get(`${op.issuer}/`)).body, 'h1')).not.toMatch(HAN);
    // The switch on that page leads back to it without the ?lang=.
    expect(page.body).toContain(`href="/lang/zh-CN?back=${encodeURIComponent('/message/wechat_unavailable')}"`);
  });
  it('writes each of many pages asked for at once in its own language, with its own message', async () => {
    const keys = ['wechat_unavailable', 'state_invalid', 'snapshot_user', 'interaction_expired'] as const;
    const asked = keys.flatMap((key) => (['zh-CN', 'en'] as const).map((lang) => ({ key, lang })));
    const pages = await Promise.all(asked.map(({ key, lang }) => fetchPage(`${op.issuer}/message/${key}`, { 'accept-language': lang })));
    pages.forEach((page, i) => {
      expect(page.body).toContain(`data-message="${asked[i]!.key}"`);
      expect(page.body).toContain(`<html lang="${asked[i]!.lang}"`);
    });
  });
});

describe('names shown as text', () => {
  it('escapes a nickname holding HTML and emoji on the consent page, and the app name too', async () => {
    const consent = await toConsent(new Browser(), (await rp.start()).url, TRICKY_NICKNAME);
    expect(consent.body).toContain(ESCAPED_NICKNAME);
    expect(consent.body).not.toContain('<img src=x');
    expect(textOf(consent.body, 'h1')).toBe('Web &lt;App&gt; 🍜 请求获取你的信息');
  });

  it('escapes it on the demo app page showing the ID token claims', async () => {
    const browser = new Browser();
    const consent = await toConsent(browser, `${op.issuer}/demo/login`, TRICKY_NICKNAME);
    const demo = await browser.after(await browser.post(`${consent.url}/confirm`), op.issuer);
    expect(demo.url).toBe(`${op.issuer}/demo`);
    expect(demo.body).toContain(`<th>nickname</th><td>${ESCAPED_NICKNAME}</td>`);
    expect(demo.body).toContain(`<th>name</th><td>${ESCAPED_NICKNAME}</td>`);
    expect(demo.body).not.toContain('<img src=x');
  });
});

describe('a sign-in that is gone', () => {
  it('shows an old tab of a finished sign-in as expired, with a link back to the app', async () => {
    const browser = new Browser();
    const consent = await toConsent(browser, `${op.issuer}/demo/login`, '旧标签页');
    await browser.after(await browser.post(`${consent.url}/confirm`), op.issuer);

    for (const old of [consent.signIn, consent.url]) {
      const page = await browser.get(old);
      expect(page.status).toBe(400);
      expect(textOf(page.body, 'h1')).toBe('登录已失效');
      expect(page.body).toContain(`<a class="button wechat" href="${op.issuer}/demo">返回 Demo app 重新登录</a>`);
    }
  });

  it('shows a WeChat callback whose cookie was lost as expired, with the link back to the app, never a stack or JSON', async () => {
    const { callback } = await allowAtWeChat(new Browser(), `${op.issuer}/demo/login`, '丢了饼干');
    // WeChat's browser came back without the provider's cookies.
    const page = await new Browser().get(callback);
    expect(page.status).toBe(400);
    expect(page.body).toMatch(/^<!DOCTYPE html>/);
    expect(textOf(page.body, 'h1')).toBe('登录已失效');
    expect(page.body).toContain(`href="${op.issuer}/demo"`);
    expect(page.body).not.toMatch(/"error"\s*:|\bat \w+ \(|node_modules/);
  });

  it('shows an unknown sign-in as expired, leading to the home page', async () => {
    const page = await fetchPage(`${op.issuer}/interaction/never-existed`);
    expect(page.status).toBe(400);
    expect(textOf(page.body, 'h1')).toBe('登录已失效');
    expect(page.body).toContain('<a class="button " href="/">返回首页</a>');
  });
});
