import { describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import {
  DESKTOP,
  WECHAT_PHONE,
  allowAsNewUser,
  demoToConsent,
  fitsWidth,
  pathOf,
  screenshot,
  signInToDemo,
  useBrowser,
} from './chromium.js';

// The pages around a sign-in, in real Chromium: both languages, signing out, and every page a
// person can land on when something stops the sign-in.
const t = useBrowser();

const HAN = /\p{Script=Han}/u;
const SMALL_PHONE = { ...DESKTOP, viewport: { width: 360, height: 640 } };

function mainText(page: Page): Promise<string> {
  return page.locator('main').innerText();
}

/** The message a page shows, by its catalogue key (language-independent). */
function messageOf(page: Page): Promise<string | null> {
  return page.locator('main').getAttribute('data-message');
}

describe('language', () => {
  it('switches the sign-in page to English and back, and remembers the choice on the next pages', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.waitForURL(/\/interaction\/[\w-]+$/);
    const signInPath = pathOf(page);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');

    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(`${t.op.issuer}${signInPath}`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Sign in to Demo app');
    expect(await mainText(page)).not.toMatch(HAN);
    await screenshot(page, 'sign-in-en');

    // The choice holds for the rest of the sign-in, the sandbox's WeChat page included.
    await page.getByRole('link', { name: 'Sign in with WeChat' }).click();
    await page.waitForURL(/\/sandbox\/connect\/qrconnect\?/);
    expect(await page.getByRole('button', { name: 'Create and allow' }).count()).toBe(1);

    await page.goto(`${t.op.issuer}/demo`);
    await page.getByRole('link', { name: '中文' }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    expect(await page.locator('h1').textContent()).toBe('演示应用');
  });

  it('shows English pages to a browser that prefers English, and Chinese otherwise', async () => {
    const english = await t.open({ ...DESKTOP, locale: 'en-US' });
    await english.goto(`${t.op.issuer}/`);
    expect(await english.locator('html').getAttribute('lang')).toBe('en');
    expect(await english.getByRole('link', { name: 'Try the demo app' }).count()).toBe(1);
    await screenshot(english, 'home-en');

    const chinese = await t.open({ ...DESKTOP, locale: 'fr-FR' });
    await chinese.goto(`${t.op.issuer}/`);
    expect(await chinese.locator('html').getAttribute('lang')).toBe('zh-CN');
  });
});

describe('signing out', () => {
  it('asks before signing out of the demo app, then returns to it signed out', async () => {
    const page = await t.open();
    await signInToDemo(page, t.op.issuer, '要走了');
    await page.getByRole('link', { name: '退出登录' }).click();
    await page.waitForURL(/\/session\/end\?/);
    expect(await page.locator('h1').textContent()).toBe('退出登录？');
    expect(await mainText(page)).toContain('Demo app');
    await screenshot(page, 'sign-out');

    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    expect(await page.getByRole('link', { name: '微信登录' }).count()).toBe(1);

    // Signed out at the provider too: the next sign-in asks for WeChat again.
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/interaction\/[\w-]+$/);
    expect(await page.locator('h1').textContent()).toBe('登录 Demo app');
  });

  it('shows the signed-out page when no app is waiting', async () => {
    const page = await t.open();
    await signInToDemo(page, t.op.issuer, '直接退出');
    await page.goto(`${t.op.issuer}/session/end`);
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL(`${t.op.issuer}/session/end/success`);
    expect(await page.locator('h1').textContent()).toBe('你已退出登录');
    await screenshot(page, 'signed-out');
  });
});

describe('when a sign-in cannot go on', () => {
  it('shows an old tab of a finished sign-in as expired, with a way back to the app', async () => {
    const page = await t.open();
    await demoToConsent(page, t.op.issuer, '旧标签页');
    const consentUrl = page.url();
    await page.getByRole('button', { name: '允许', exact: true }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);

    await page.goto(consentUrl);
    expect(await messageOf(page)).toBe('interaction_expired');
    expect(await page.locator('h1').textContent()).toBe('登录已失效');
    await screenshot(page, 'error-expired');
    await page.getByRole('link', { name: '返回 Demo app 重新登录' }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
  });

  it('inside WeChat, a sign-in whose cookie was lost comes back to a page leading to the app', async () => {
    const page = await t.open(WECHAT_PHONE);
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
    await page.context().clearCookies();
    await page.getByLabel('新建测试用户').fill('丢了饼干');
    await page.getByRole('button', { name: '新建并允许' }).click();
    await page.waitForURL(/\/wechat\/callback\?/);
    expect(await messageOf(page)).toBe('interaction_expired');
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'phone-error-expired');

    // Starting again at the app works: a new sign-in, straight to WeChat.
    await page.getByRole('link', { name: '返回 Demo app 重新登录' }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
  });

  it('asks a snapshot user to use the full service, and lets them try again', async () => {
    const page = await t.open(WECHAT_PHONE);
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
    await page.getByLabel('模拟快照用户').check();
    await page.getByRole('button', { name: '新建并允许' }).click();
    await page.waitForURL(/\/wechat\/callback\?/);
    expect(await page.locator('h1').textContent()).toBe('请使用完整服务');
    expect(await mainText(page)).toContain('使用完整服务');
    await screenshot(page, 'phone-snapshot-user');

    await page.getByRole('link', { name: '重新登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
    await allowAsNewUser(page, '完整服务');
    expect(await page.getByRole('button', { name: '允许', exact: true }).count()).toBe(1);
  });

  it('tells the person plainly when the app is not registered', async () => {
    const page = await t.open();
    await page.goto(
      `${t.op.issuer}/auth?client_id=no-such-app&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.example%2Fcb`,
    );
    expect(await messageOf(page)).toBe('unknown_client');
    expect(await page.locator('h1').textContent()).toBe('未知的应用');
    await screenshot(page, 'error-unknown-client');
  });

  it('shows WeChat refusing a malformed authorization link the way WeChat does', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/sandbox/connect/oauth2/authorize?scope=snsapi_userinfo&appid=wx&state=x`);
    expect(await page.locator('h1').textContent()).toBe('出错了');
    await screenshot(page, 'sandbox-error');
  });

  it('shows the misconfiguration page in the chosen language', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/message/wechat_config?lang=en`);
    expect(await page.locator('h1').textContent()).toBe('Sign-in is misconfigured');
    expect(await mainText(page)).not.toMatch(HAN);
    await page.getByRole('link', { name: '中文' }).click();
    await page.waitForURL(`${t.op.issuer}/message/wechat_config`);
    expect(await page.locator('h1').textContent()).toBe('登录服务配置有误');
    await screenshot(page, 'error-misconfigured');
  });
});

describe('a 360 px phone', () => {
  it('shows every page without sideways scrolling', async () => {
    const page = await t.open(SMALL_PHONE);
    const paths = ['/', '/demo', '/message/wechat_unavailable', '/message/service_unavailable', '/interaction/gone', '/demo/login'];
    for (const path of paths) {
      await page.goto(`${t.op.issuer}${path}`);
      expect([path, await fitsWidth(page)]).toEqual([path, true]);
    }
    // /demo/login ended on the sign-in page; next is the sandbox's WeChat page.
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/qrconnect\?/);
    expect(await fitsWidth(page)).toBe(true);
  });
});
