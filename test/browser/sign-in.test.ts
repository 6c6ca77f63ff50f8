import { describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { blockAccount } from '../../src/accounts/blocking.js';
import { revokeAccounts } from '../../src/oidc/stored-rows.js';
import { WECHAT_PHONE, allowAsNewUser, demoToConsent, fitsWidth, pathOf, screenshot, signInToDemo, useBrowser } from './chromium.js';

// A person signing in to the demo app, clicking through real Chromium: the sandbox plays
// WeChat, the demo app on the same server is the relying party.
const t = useBrowser();

const TRICKY_NICKNAME = '<img src=x onerror=alert(1)>小明😀';
const WECHAT_GREEN = 'rgb(7, 193, 96)';

function backgroundOf(page: Page, selector: string): Promise<string> {
  return page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`);
}

describe('signing in to the demo app on a desktop browser', () => {
  it('goes home → demo → sign-in page → 微信登录 → WeChat → consent → the ID token claims, nickname shown as text', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/`);
    expect(await page.locator('h1').count()).toBe(1);
    await screenshot(page, 'home');

    await page.getByRole('link', { name: '体验演示应用' }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    await screenshot(page, 'demo');

    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/interaction\/[\w-]+$/);
    expect(await page.locator('h1').textContent()).toBe('登录 Demo app');
    const wechatButton = page.getByRole('link', { name: '微信登录' });
    expect(await backgroundOf(page, '.button.wechat')).toBe(WECHAT_GREEN);
    await screenshot(page, 'sign-in');

    await wechatButton.click();
    await page.waitForURL(/\/sandbox\/connect\/qrconnect\?/);
    expect(await page.locator('h1').textContent()).toContain('请求使用微信扫码登录');
    await screenshot(page, 'sandbox-wechat');

    await allowAsNewUser(page, TRICKY_NICKNAME);
    expect(await page.locator('h1').textContent()).toBe('Demo app 请求获取你的信息');
    expect(await page.locator('.claims li').count()).toBe(2);
    expect(await page.locator('.account .nickname').textContent()).toBe(TRICKY_NICKNAME);
    // Only the avatar: the nickname's <img> stayed text.
    expect(await page.locator('main img').count()).toBe(1);
    await screenshot(page, 'consent');

    await page.getByRole('button', { name: '允许', exact: true }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    const claims = page.getByRole('table', { name: 'ID Token 声明' });
    expect(await claims.locator('tr', { hasText: 'nickname' }).locator('td').textContent()).toBe(TRICKY_NICKNAME);
    expect(await claims.locator('tr', { hasText: 'openid' }).first().locator('td').textContent()).toMatch(/^o[\w-]{27}$/);
    expect(await claims.locator('tr', { hasText: 'iss' }).locator('td').textContent()).toBe(t.op.issuer);
    expect(await page.locator('main img').count()).toBe(1);
    await screenshot(page, 'demo-signed-in');
  });
});

describe('signing in inside WeChat on a phone', () => {
  it('goes from the demo straight to the WeChat page, with no sign-in page, and fits a 390 px screen', async () => {
    const page = await t.open(WECHAT_PHONE);
    const shown: string[] = [];
    page.on('response', (response) => {
      if (response.request().isNavigationRequest() && response.status() === 200) shown.push(new URL(response.url()).pathname);
    });
    await page.goto(`${t.op.issuer}/demo`);
    expect(await fitsWidth(page)).toBe(true);

    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
    expect(shown.filter((path) => path.startsWith('/interaction/'))).toEqual([]);
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'phone-sandbox-wechat');

    await allowAsNewUser(page, '小红🌸 Rosie');
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'phone-consent');

    await page.getByRole('button', { name: '允许', exact: true }).click();
    await page.waitForURL(`${t.op.issuer}/demo`);
    expect(await page.locator('.account .nickname').textContent()).toBe('小红🌸 Rosie');
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'phone-demo-signed-in');
  });
});

describe('consent and refusal', () => {
  it('sends access_denied to the app when the person denies on the consent page', async () => {
    const page = await t.open();
    await demoToConsent(page, t.op.issuer, '拒绝者');
    await page.getByRole('button', { name: '拒绝', exact: true }).click();
    await page.waitForURL(`${t.op.issuer}/demo?error=access_denied`);
    expect(await page.getByRole('alert').textContent()).toContain('你拒绝了授权');
    expect(await page.getByRole('link', { name: '微信登录' }).count()).toBe(1);
    await screenshot(page, 'demo-denied');
  });

  it('does not ask again once allowed: the same person signing in again lands on the claims', async () => {
    const page = await t.open();
    await signInToDemo(page, t.op.issuer, '回头客');

    // A second sign-in of the same browser: the session is remembered, consent was given.
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.waitForURL(`${t.op.issuer}/demo`);
    expect(await page.locator('.account .nickname').textContent()).toBe('回头客');
  });

  it('sends access_denied to the app when the person refuses at WeChat', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/qrconnect\?/);
    await page.getByRole('button', { name: '拒绝', exact: true }).click();
    await page.waitForURL(`${t.op.issuer}/demo?error=access_denied`);
    expect(pathOf(page)).toBe('/demo?error=access_denied');
  });
});

describe('a blocked account', () => {
  it('is told so on a page whose button takes it back to the app with access_denied', async () => {
    const first = await t.open();
    await signInToDemo(first, t.op.issuer, '停用测试');
    const [newest] = await t.op.idp.accounts.list({ limit: 1 });
    expect(newest!.account.nickname).toBe('停用测试');
    expect(await blockAccount(t.op.idp.db, newest!.account.id, revokeAccounts)).toMatchObject({ found: true });

    const page = await t.open();
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.getByRole('button', { name: '停用测试' }).click();
    await page.waitForURL(/\/wechat\/callback\?/);
    expect(await page.locator('main').getAttribute('data-message')).toBe('account_blocked');
    expect(await page.locator('h1').textContent()).toBe('账号已停用');
    await screenshot(page, 'error-blocked');

    await page.getByRole('link', { name: '返回应用' }).click();
    await page.waitForURL(/\/demo(\?|$)/);
    expect(await page.locator('main').textContent()).toContain('access_denied');
  });
});
