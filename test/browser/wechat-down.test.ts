import { describe, expect, it } from '@jest/globals';
import { screenshot, useBrowser } from './chromium.js';

// WeChat's pages answer, but its API does not (nothing listens on port 9): the code exchange
// after "allow" fails, as when api.weixin.qq.com is unreachable.
const t = useBrowser({ WECHAT_API_ORIGIN: 'http://127.0.0.1:9' });

describe('when WeChat does not answer', () => {
  it('says so in plain words and offers to try the same sign-in again', async () => {
    const page = await t.open();
    await page.goto(`${t.op.issuer}/demo/login`);
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.getByLabel('新建测试用户').fill('等一等');
    await page.getByRole('button', { name: '新建并允许' }).click();
    await page.waitForURL(/\/wechat\/callback\?/);
    expect(await page.locator('main').getAttribute('data-message')).toBe('wechat_unavailable');
    expect(await page.locator('h1').textContent()).toBe('微信暂时无法响应');
    await screenshot(page, 'error-wechat-unavailable');

    // "Try again" goes back into the same sign-in: its page, then WeChat again.
    await page.getByRole('link', { name: '重新登录' }).click();
    await page.waitForURL(/\/interaction\/[\w-]+$/);
    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/sandbox\/connect\/qrconnect\?/);
    expect(await page.getByRole('button', { name: '新建并允许' }).count()).toBe(1);
  });
});
