import nock from 'nock';
import { TEST_APP } from './provider.js';

export const WECHAT_API = 'https://api.weixin.qq.com';

export interface FakeWeChatUser {
  openid: string;
  unionid?: string;
  nickname: string;
  headimgurl: string;
}

let counter = 0;
export function newWeChatUser(overrides: Partial<FakeWeChatUser> = {}): FakeWeChatUser {
  counter += 1;
  return {
    openid: `oTest${Date.now().toString(36)}${counter}`,
    unionid: `uTest${Date.now().toString(36)}${counter}`,
    nickname: `测试用户${counter}🐼`,
    headimgurl: `http://thirdwx.qlogo.cn/mmopen/vi_32/test${counter}/132`,
    ...overrides,
  };
}

// WeChat answers JSON labelled text/plain (wechat.md): the fakes do too.
const TEXT = { 'Content-Type': 'text/plain' };

/** WeChat's code exchange for `code`, answered once, as WeChat documents it. `app`: whose
 * credentials the provider must send (the Official Account's unless said otherwise). */
export function wechatExchange(
  code: string,
  user: FakeWeChatUser,
  extra: Record<string, unknown> = {},
  app: { appId: string; appSecret: string } = TEST_APP,
) {
  return nock(WECHAT_API)
    .get('/sns/oauth2/access_token')
    .query({ appid: app.appId, secret: app.appSecret, code, grant_type: 'authorization_code' })
    .reply(
      200,
      JSON.stringify({
        access_token: `at-${code}`,
        expires_in: 7200,
        refresh_token: `rt-${code}`,
        openid: user.openid,
        scope: app === TEST_APP ? 'snsapi_userinfo' : 'snsapi_login',
        ...(user.unionid ? { unionid: user.unionid } : {}),
        ...extra,
      }),
      TEXT,
    );
}

export function wechatError(path: string, errcode: number, errmsg = 'error') {
  return nock(WECHAT_API).get(path).query(true).reply(200, JSON.stringify({ errcode, errmsg }), TEXT);
}

export function wechatUserinfo(user: FakeWeChatUser) {
  return nock(WECHAT_API)
    .get('/sns/userinfo')
    .query((q) => q.openid === user.openid)
    .reply(
      200,
      JSON.stringify({
        openid: user.openid,
        nickname: user.nickname,
        sex: 0,
        province: '',
        city: '',
        country: '',
        headimgurl: user.headimgurl,
        privilege: [],
        ...(user.unionid ? { unionid: user.unionid } : {}),
      }),
      TEXT,
    );
}

/** Everything a first sign-in of `user` with `code` asks WeChat. */
export function wechatNewUser(code: string, user: FakeWeChatUser) {
  return [wechatExchange(code, user), wechatUserinfo(user)];
}

/** Everything a returning sign-in asks WeChat. */
export function wechatReturningUser(code: string, user: FakeWeChatUser) {
  return [wechatExchange(code, user), wechatUserinfo(user)];
}
