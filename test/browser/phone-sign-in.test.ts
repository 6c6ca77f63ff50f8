import { describe, expect, it } from '@jest/globals';
import { DESKTOP, WECHAT_PHONE, fitsWidth, screenshot, useBrowser } from './chromium.js';

// A computer signing in with the Official Account only: two Chromium profiles on one machine,
// a desktop and a phone in WeChat. The sandbox plays WeChat for both, and its desktop page
// prints the QR code's link so that the phone can "scan" it.
const t = useBrowser();
const SMALL_WECHAT_PHONE = { ...WECHAT_PHONE, viewport: { width: 360, height: 720 } };

describe('signing in on a computer, confirmed on the phone', () => {
  it('shows a QR code and a match code, the phone confirms with the same code, and the computer goes on by itself', async () => {
    const desktop = await t.open(DESKTOP);
    await desktop.goto(`${t.op.issuer}/demo/login`);
    await desktop.waitForURL(/\/interaction\/[\w-]+$/);
    expect(await desktop.locator('.qr svg').count()).toBe(1);
    const matchCode = (await desktop.locator('#phone-sign-in .match-code').textContent())!;
    expect(matchCode).toMatch(/^\d{2}$/);
    expect(await desktop.locator('.phone-status').textContent()).toBe('等待扫码…');
    await screenshot(desktop, 'sign-in-phone-qr');
    const phoneLink = (await desktop.locator('a.phone-link').getAttribute('href'))!;

    const phone = await t.open(SMALL_WECHAT_PHONE);
    await phone.goto(phoneLink);
    await phone.waitForURL(/\/sandbox\/connect\/oauth2\/authorize\?/);
    await phone.getByLabel('新建测试用户').fill('手机上的人');
    await phone.getByRole('button', { name: '新建并允许' }).click();
    await phone.waitForURL(/\/phone\/[0-9a-f]+\/callback\?/);
    expect(await phone.locator('h1').textContent()).toBe('在电脑上登录 Demo app？');
    expect(await phone.locator('.match-code').textContent()).toBe(matchCode);
    expect(await fitsWidth(phone)).toBe(true);
    await screenshot(phone, 'phone-confirm-computer');

    // The computer's page notices the scan while the phone is asked.
    await desktop.locator('.phone-status', { hasText: '已扫码，请在手机上确认。' }).waitFor();

    await phone.getByRole('button', { name: '允许登录' }).click();
    expect(await phone.locator('main').getAttribute('data-message')).toBe('phone_allowed');

    // The computer goes on without a click: to the app's consent, in its own browser.
    await desktop.waitForURL(/\/interaction\/[\w-]+$/, { timeout: 10_000 });
    await desktop.getByRole('button', { name: '允许', exact: true }).click();
    await desktop.waitForURL(`${t.op.issuer}/demo`);
    const claims = desktop.getByRole('table', { name: 'ID Token 声明' });
    expect(await claims.locator('tr', { hasText: 'nickname' }).locator('td').textContent()).toBe('手机上的人');
  });

  it('offers a new QR code on the computer once the link has expired', async () => {
    const desktop = await t.open(DESKTOP);
    await desktop.goto(`${t.op.issuer}/demo/login`);
    await desktop.waitForURL(/\/interaction\/[\w-]+$/);
    const uid = new URL(desktop.url()).pathname.split('/')[2]!;
    await t.op.idp
      .db('phone_sign_ins')
      .where({ uid })
      .update({ expires_at: Date.now() - 1 });
    await desktop.locator('.phone-status', { hasText: '二维码已过期。' }).waitFor();
    await desktop.getByRole('link', { name: '换一个二维码' }).click();
    await desktop.locator('.phone-status', { hasText: '等待扫码…' }).waitFor();
    expect(await desktop.locator('.qr svg').count()).toBe(1);
  });
});
