import { describe, it, expect, afterEach, beforeAll, afterAll } from '@jest/globals';
import nock from 'nock';
import { WeChatClient, type WeChatApp } from '../src/wechat/client.js';
import { WeChatError, kindOfErrcode } from '../src/wechat/errors.js';
import { wechatFailure } from './helpers/wechat-failure.js';

const API = 'https://api.weixin.qq.com';
const APP: WeChatApp = { appId: 'wx1234567890abcdef', appSecret: 'S3cretS3cretS3cretS3cretS3cret12' };
const CODE = '081AbCdEfGhIjKlMnOpQrStUvWx0AbCd';
const ACCESS_TOKEN = 'ACCESS_TOKEN_65_bW9jaw_very_long_token_value_xyz';
const REFRESH_TOKEN = 'REFRESH_TOKEN_bW9jaw_refresh_value_abc';
const OPENID = 'oLVPpjqs9BhvzwPj5A-vTYAX3GLc';
const UNIONID = 'o6_bmasdasdsad6_2sgVt7hMZOPfL';

// WeChat labels its JSON text/plain.
const TEXT_PLAIN = { 'Content-Type': 'text/plain' };

type Reply = [status: number, body: unknown];

/** Serves `replies` in turn (the last one again once they run out) and records every request. */
function wechat(path: string, ...replies: Reply[]): { urls: string[] } {
  const urls: string[] = [];
  nock(API)
    .get(path)
    .query(true)
    .times(20)
    .reply((uri) => {
      urls.push(uri);
      const [status, body] = replies[Math.min(urls.length, replies.length) - 1]!;
      return [status, typeof body === 'string' ? body : JSON.stringify(body), TEXT_PLAIN];
    });
  return { urls };
}

const tokenAnswer = {
  access_token: ACCESS_TOKEN,
  expires_in: 7200,
  refresh_token: REFRESH_TOKEN,
  openid: OPENID,
  scope: 'snsapi_userinfo',
  unionid: UNIONID,
  is_snapshotuser: 1,
};
const err = (errcode: number, errmsg: string): Reply => [200, { errcode, errmsg }];

const client = (extra: Partial<ConstructorParameters<typeof WeChatClient>[0]> = {}): WeChatClient =>
  new WeChatClient({ apiOrigin: API, retryDelayMs: 1, ...extra });

function expectNoCredentials(error: WeChatError): void {
  for (const text of [error.message, String(error), error.stack ?? '', JSON.stringify(error)]) {
    for (const secret of [APP.appSecret, CODE, ACCESS_TOKEN, REFRESH_TOKEN]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(API);
  }
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
  nock.disableNetConnect();
});

describe('kindOfErrcode', () => {
  it('maps the documented codes', () => {
    expect([40029, 40163, 42003, 41008].map(kindOfErrcode)).toEqual(Array(4).fill('code_invalid'));
    expect(kindOfErrcode(42001)).toBe('token_expired');
    expect([42002, 40030].map(kindOfErrcode)).toEqual(['refresh_invalid', 'refresh_invalid']);
    expect([40001, 40125, 40013, 41002, 41004].map(kindOfErrcode)).toEqual(Array(5).fill('config'));
    expect(kindOfErrcode(40003)).toBe('openid_invalid');
    expect([48001, 50001].map(kindOfErrcode)).toEqual(['scope', 'scope']);
    expect([-1, 45011].map(kindOfErrcode)).toEqual(['busy', 'busy']);
    expect(kindOfErrcode(99999)).toBe('unknown');
  });
});

describe('exchangeCode', () => {
  it('parses a text/plain JSON answer, with unionid and the snapshot flag', async () => {
    const { urls } = wechat('/sns/oauth2/access_token', [200, tokenAnswer]);
    await expect(client().exchangeCode(APP, CODE)).resolves.toEqual({
      accessToken: ACCESS_TOKEN,
      expiresIn: 7200,
      refreshToken: REFRESH_TOKEN,
      openid: OPENID,
      scope: 'snsapi_userinfo',
      unionid: UNIONID,
      isSnapshotUser: true,
    });
    expect(urls).toEqual([
      `/sns/oauth2/access_token?appid=${APP.appId}&secret=${APP.appSecret}&code=${CODE}&grant_type=authorization_code`,
    ]);
  });

  it('leaves unionid undefined and isSnapshotUser false when WeChat omits them', async () => {
    const { unionid: _u, is_snapshotuser: _s, ...base } = tokenAnswer;
    wechat('/sns/oauth2/access_token', [200, { ...base, scope: 'snsapi_base' }]);
    const token = await client().exchangeCode(APP, CODE);
    expect(token.unionid).toBeUndefined();
    expect(token.isSnapshotUser).toBe(false);
    expect(token.scope).toBe('snsapi_base');
  });

  it('accepts application/json too', async () => {
    nock(API).get('/sns/oauth2/access_token').query(true).reply(200, tokenAnswer);
    await expect(client().exchangeCode(APP, CODE)).resolves.toMatchObject({ openid: OPENID });
  });

  it('keeps a path prefix and drops a trailing slash of apiOrigin', async () => {
    const scope = nock('http://127.0.0.1:3000')
      .get('/sandbox/wechat-api/sns/oauth2/access_token')
      .query(true)
      .reply(200, JSON.stringify(tokenAnswer), TEXT_PLAIN);
    const sandbox = new WeChatClient({ apiOrigin: 'http://127.0.0.1:3000/sandbox/wechat-api/' });
    await expect(sandbox.exchangeCode(APP, CODE)).resolves.toMatchObject({ openid: OPENID });
    expect(scope.isDone()).toBe(true);
  });

  it.each([40029, 40163, 42003])('errcode %i is code_invalid and is never retried', async (errcode) => {
    const { urls } = wechat('/sns/oauth2/access_token', err(errcode, 'invalid code, rid: 6512a1b2-0c3d'));
    const error = await wechatFailure(client().exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'code_invalid', errcode, endpoint: '/sns/oauth2/access_token', retryable: false });
    expect(error.message).toBe(`WeChat /sns/oauth2/access_token failed: errcode ${errcode} (invalid code, rid: 6512a1b2-0c3d)`);
    expect(urls).toHaveLength(1);
    expectNoCredentials(error);
  });

  it.each([40001, 40125, 40013])('errcode %i is a configuration error', async (errcode) => {
    const { urls } = wechat('/sns/oauth2/access_token', err(errcode, 'invalid appsecret'));
    const error = await wechatFailure(client().exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'config', errcode, retryable: false });
    expect(urls).toHaveLength(1);
    expectNoCredentials(error);
  });

  it.each([-1, 45011])('errcode %i is retried, then succeeds', async (errcode) => {
    const { urls } = wechat('/sns/oauth2/access_token', err(errcode, 'system error'), err(errcode, 'system error'), [200, tokenAnswer]);
    await expect(client().exchangeCode(APP, CODE)).resolves.toMatchObject({ openid: OPENID });
    expect(urls).toHaveLength(3);
  });

  it('retries HTTP 5xx', async () => {
    const { urls } = wechat('/sns/oauth2/access_token', [502, '<html>Bad Gateway</html>'], [200, tokenAnswer]);
    await expect(client().exchangeCode(APP, CODE)).resolves.toMatchObject({ openid: OPENID });
    expect(urls).toHaveLength(2);
  });

  it('gives up after maxRetries + 1 calls when WeChat stays busy', async () => {
    const { urls } = wechat('/sns/oauth2/access_token', err(-1, 'system error'));
    const error = await wechatFailure(client({ maxRetries: 3 }).exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'busy', errcode: -1, retryable: true });
    expect(urls).toHaveLength(4);
  });

  it('reports a persistent 5xx as unavailable', async () => {
    const { urls } = wechat('/sns/oauth2/access_token', [503, 'Service Unavailable']);
    const error = await wechatFailure(client().exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'unavailable', errcode: undefined });
    expect(error.message).toBe('WeChat /sns/oauth2/access_token unavailable: HTTP 503');
    expect(urls).toHaveLength(3);
  });

  it('turns a network error into unavailable without leaking the URL', async () => {
    // A real refused connection (nothing listens on port 1): got's own error carries the
    // whole URL, secret included; ours must not.
    nock.enableNetConnect('127.0.0.1:1');
    const refused = new WeChatClient({ apiOrigin: 'http://127.0.0.1:1', retryDelayMs: 1 });
    const error = await wechatFailure(refused.exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'unavailable', errcode: undefined, retryable: true });
    expect(error.message).toBe('WeChat /sns/oauth2/access_token unavailable: ECONNREFUSED');
    expect(error.cause).toBeUndefined();
    for (const text of [error.message, String(error), error.stack ?? '', JSON.stringify(error)]) {
      expect(text).not.toContain(APP.appSecret);
      expect(text).not.toContain(CODE);
    }
  });

  it('turns a timeout into unavailable', async () => {
    nock(API).get('/sns/oauth2/access_token').query(true).delay(500).reply(200, JSON.stringify(tokenAnswer), TEXT_PLAIN);
    const error = await wechatFailure(client({ timeoutMs: 50, maxRetries: 0 }).exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(error.message).toBe('WeChat /sns/oauth2/access_token unavailable: ETIMEDOUT');
    expectNoCredentials(error);
  });

  it('treats an unparseable body as unavailable', async () => {
    wechat('/sns/oauth2/access_token', [200, '<html>maintenance</html>']);
    const error = await wechatFailure(client({ maxRetries: 0 }).exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'unavailable', errcode: undefined });
  });

  it('treats a success answer without openid as unknown', async () => {
    const { openid: _o, ...rest } = tokenAnswer;
    const { urls } = wechat('/sns/oauth2/access_token', [200, rest]);
    const error = await wechatFailure(client().exchangeCode(APP, CODE));
    expect(error).toMatchObject({ kind: 'unknown', errcode: undefined, retryable: false });
    expect(urls).toHaveLength(1);
  });

  it('redacts credentials that WeChat echoes in errmsg', async () => {
    wechat('/sns/oauth2/access_token', err(40125, `invalid appsecret ${APP.appSecret} for code ${CODE}`));
    const error = await wechatFailure(client().exchangeCode(APP, CODE));
    expect(error.kind).toBe('config');
    expectNoCredentials(error);
  });
});

describe('refreshToken', () => {
  it('sends no secret', async () => {
    const { urls } = wechat('/sns/oauth2/refresh_token', [200, { ...tokenAnswer, unionid: undefined, is_snapshotuser: undefined }]);
    const token = await client().refreshToken(APP, REFRESH_TOKEN);
    expect(token).toMatchObject({ accessToken: ACCESS_TOKEN, refreshToken: REFRESH_TOKEN, isSnapshotUser: false });
    expect(urls).toEqual([`/sns/oauth2/refresh_token?appid=${APP.appId}&grant_type=refresh_token&refresh_token=${REFRESH_TOKEN}`]);
    expect(urls[0]).not.toContain('secret');
    expect(urls[0]).not.toContain(APP.appSecret);
  });

  it.each([42002, 40030])('errcode %i is refresh_invalid', async (errcode) => {
    wechat('/sns/oauth2/refresh_token', err(errcode, 'invalid refresh_token'));
    const error = await wechatFailure(client().refreshToken(APP, REFRESH_TOKEN));
    expect(error.kind).toBe('refresh_invalid');
    expectNoCredentials(error);
  });
});

describe('userInfo', () => {
  it('keeps emoji/CJK nicknames and blank fields', async () => {
    const nickname = '微信用户🐼👨‍👩‍👧 مرحبا';
    const { urls } = wechat('/sns/userinfo', [
      200,
      {
        openid: OPENID,
        nickname,
        sex: 0,
        province: '',
        city: '',
        country: '',
        headimgurl:
          'https://thirdwx.qlogo.cn/mmopen/g3MonUZtNHkdmzicIlibx6iaFqAc56vxLSUfpb6n5WKSYVY0ChQKkiaJSgQ1dZuTOgvLLrhJbERQQ4eMsv84eavHiaiceqxibJxCfHe/0',
        privilege: [],
        unionid: UNIONID,
      },
    ]);
    const info = await client().userInfo(ACCESS_TOKEN, OPENID);
    expect(info).toEqual({
      openid: OPENID,
      nickname,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: expect.stringMatching(/\/0$/),
      privilege: [],
      unionid: UNIONID,
    });
    expect(urls).toEqual([`/sns/userinfo?access_token=${ACCESS_TOKEN}&openid=${OPENID}&lang=zh_CN`]);
  });

  it('defaults fields WeChat leaves out entirely', async () => {
    wechat('/sns/userinfo', [200, { openid: OPENID, nickname: 'a', sex: '', privilege: null }]);
    const info = await client().userInfo(ACCESS_TOKEN, OPENID, 'en');
    expect(info).toEqual({
      openid: OPENID,
      nickname: 'a',
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: '',
      privilege: [],
      unionid: undefined,
    });
  });

  it('reports 48001 as scope, not retried, without the access token', async () => {
    const { urls } = wechat('/sns/userinfo', err(48001, 'api unauthorized, rid: 64f0c2a1-1b2c'));
    const error = await wechatFailure(client().userInfo(ACCESS_TOKEN, OPENID));
    expect(error).toMatchObject({ kind: 'scope', errcode: 48001, endpoint: '/sns/userinfo', retryable: false });
    expect(urls).toHaveLength(1);
    expectNoCredentials(error);
  });
});
