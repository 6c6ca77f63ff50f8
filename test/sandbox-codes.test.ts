import { describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { SANDBOX_MINI_APP_ID, SANDBOX_MOBILE_APP_ID } from '../src/sandbox/app.js';
import { useProvider } from './helpers/setup.js';

// A developer without WeChat credentials tries the code exchange with curl: the sandbox hands
// out a test code (what wx.login or the WeChat SDK would), and /token trades it.
const t = useProvider({ WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined });
const MOBILE_APP = { id: 'mobile-app', secret: 'mobile-app-secret-0123456789abcdef' };

/** Asks the sandbox page for a code, as a developer's browser does. */
async function sandboxCode(kind: 'mini' | 'mobile', choice: Record<string, string>): Promise<{ code: string; page: string }> {
  const response = await fetch(`${t.op.issuer}/sandbox/codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ kind, ...choice }),
  });
  expect(response.status).toBe(200);
  const page = await response.text();
  const code = /<code class="issued-code">([^<]+)<\/code>/.exec(page)?.[1];
  expect(code).toBeDefined();
  return { code: code!, page };
}

/** The curl line the page shows, sent as curl would. */
const exchange = (code: string, type: string) =>
  fetch(`${t.op.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${MOBILE_APP.id}:${MOBILE_APP.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: type,
      subject_token: code,
      scope: 'openid profile',
    }),
  });

describe('test codes from the sandbox', () => {
  it('are offered for both apps on a page, with the request that trades them', async () => {
    const page = await (await fetch(`${t.op.issuer}/sandbox/codes`)).text();
    expect(page).toContain(SANDBOX_MINI_APP_ID);
    expect(page).toContain(SANDBOX_MOBILE_APP_ID);
    const { page: issued } = await sandboxCode('mini', { action: 'create', nickname: '沙盒小程序用户' });
    expect(issued).toContain('subject_token_type=urn:wechat:token-type:js-code');
  });

  it('sign one test user in from the mini-program and from the mobile app to one account, once per code', async () => {
    const mini = await sandboxCode('mini', { action: 'create', nickname: '小程序和 App 🐼' });
    const first = await exchange(mini.code, 'urn:wechat:token-type:js-code');
    expect(first.status).toBe(200);
    const miniClaims = decodeJwt(((await first.json()) as { id_token: string }).id_token);
    expect(miniClaims).toMatchObject({ wechat_appid: SANDBOX_MINI_APP_ID });
    expect(miniClaims).not.toHaveProperty('nickname');

    const again = await exchange(mini.code, 'urn:wechat:token-type:js-code');
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });

    const userId = /name="user" value="([^"]+)"><img[^>]*><span class="nickname">小程序和 App 🐼</.exec(mini.page)?.[1];
    const mobile = await sandboxCode('mobile', { user: userId! });
    const answer = await exchange(mobile.code, 'urn:wechat:token-type:app-code');
    expect(answer.status).toBe(200);
    const mobileClaims = decodeJwt(((await answer.json()) as { id_token: string }).id_token);
    expect(mobileClaims.sub).toBe(miniClaims.sub);
    expect(mobileClaims.nickname).toBe('小程序和 App 🐼');
  });
});
