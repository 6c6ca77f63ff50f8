import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import * as oidc from 'openid-client';
import { Browser } from './helpers/browser.js';
import { useProvider } from './helpers/setup.js';
import { signIn } from './helpers/sign-in.js';
import { newWeChatUser, wechatExchange, wechatNewUser, wechatUserinfo } from './helpers/wechat.js';
import { TEST_APP } from './helpers/provider.js';
import { AVATAR_MAX_BYTES } from '../src/accounts/avatars.js';

const t = useProvider();
const AVATAR_HOST = 'https://thirdwx.qlogo.cn';
// A JPEG's first bytes and then some: what matters is that the same bytes come back.
const jpeg = (marker: string) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(marker)]);

/** WeChat's avatar host answering one download of `path`. */
function avatarDownload(path: string, body: Buffer | string, type = 'image/jpeg', status = 200) {
  return nock(AVATAR_HOST).get(path).reply(status, body, { 'Content-Type': type });
}

/** The claims as userinfo gives them now (the ID token of a sign-in predates its download). */
async function currentClaims(accessToken: string, sub: string) {
  await t.op.idp.avatars.settled();
  return oidc.fetchUserInfo(t.rp.config, accessToken, sub);
}

describe('avatars that last', () => {
  it('downloads the 132 px avatar at registration and publishes it at a stable address of ours', async () => {
    const user = newWeChatUser({ headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/keep1/0' });
    wechatNewUser('avatar-1', user);
    const download = avatarDownload('/mmopen/vi_32/keep1/132', jpeg('keep1'));
    const { tokens, claims } = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-1');
    expect(claims.headimgurl).toBe('https://thirdwx.qlogo.cn/mmopen/vi_32/keep1/0');

    const info = await currentClaims(tokens.access_token, claims.sub);
    expect(download.isDone()).toBe(true);
    expect(info.headimgurl).toBe('https://thirdwx.qlogo.cn/mmopen/vi_32/keep1/0');
    expect(info.picture).toMatch(new RegExp(`^${t.op.issuer}/avatars/${claims.sub}\\?v=[0-9a-f]{16}$`));

    const image = await fetch(info.picture as string);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(image.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(jpeg('keep1'));
    const again = await fetch(info.picture as string, { headers: { 'If-None-Match': image.headers.get('etag')! } });
    expect(again.status).toBe(304);

    // Back with the same avatar: nothing is downloaded again.
    wechatExchange('avatar-1-again', user);
    wechatUserinfo(user);
    const redownload = avatarDownload('/mmopen/vi_32/keep1/132', jpeg('keep1'));
    const back = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-1-again');
    expect((await currentClaims(back.tokens.access_token, back.claims.sub)).picture).toBe(info.picture);
    expect(redownload.isDone()).toBe(false);
  });

  it('keeps the last stored avatar when a new one cannot be downloaded, and signs the person in anyway', async () => {
    const user = newWeChatUser({ headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/first/132' });
    wechatNewUser('avatar-2', user);
    avatarDownload('/mmopen/vi_32/first/132', jpeg('first'));
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-2');
    const before = await currentClaims(first.tokens.access_token, first.claims.sub);

    for (const [n, answer] of [
      ['500', () => avatarDownload('/mmopen/vi_32/broken500/132', 'oops', 'text/plain', 500)],
      ['html', () => avatarDownload('/mmopen/vi_32/brokenhtml/132', '<html>login</html>', 'text/html')],
      ['huge', () => avatarDownload('/mmopen/vi_32/brokenhuge/132', Buffer.alloc(AVATAR_MAX_BYTES + 1, 1))],
    ] as const) {
      const changed = { ...user, headimgurl: `http://thirdwx.qlogo.cn/mmopen/vi_32/broken${n}/132` };
      wechatExchange(`avatar-2-${n}`, changed);
      wechatUserinfo(changed);
      answer();
      const next = await signIn(new Browser(), t.op.issuer, t.rp, `avatar-2-${n}`);
      expect(next.claims.sub).toBe(first.claims.sub);
      const after = await currentClaims(next.tokens.access_token, next.claims.sub);
      expect(after.headimgurl).toBe(changed.headimgurl.replace('http://', 'https://'));
      expect(after.picture).toBe(before.picture);
      expect(Buffer.from(await (await fetch(after.picture as string)).arrayBuffer())).toEqual(jpeg('first'));
    }
  });

  it('replaces the stored avatar when WeChat gives a new one', async () => {
    const user = newWeChatUser({ headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/old/132' });
    wechatNewUser('avatar-3', user);
    avatarDownload('/mmopen/vi_32/old/132', jpeg('old'));
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-3');
    const before = await currentClaims(first.tokens.access_token, first.claims.sub);

    const changed = { ...user, headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/new/132' };
    wechatExchange('avatar-3-new', changed);
    wechatUserinfo(changed);
    avatarDownload('/mmopen/vi_32/new/132', jpeg('new'));
    const next = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-3-new');
    const after = await currentClaims(next.tokens.access_token, next.claims.sub);
    expect(after.picture).not.toBe(before.picture);
    expect(Buffer.from(await (await fetch(after.picture as string)).arrayBuffer())).toEqual(jpeg('new'));
  });

  it('keeps only JPEG, PNG, GIF and WebP, judged by their bytes, and serves them sandboxed', async () => {
    // The attack: an SVG with a form, served from the provider's own origin.
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><form action="https://evil.example"></form></foreignObject></svg>';
    const refused = newWeChatUser({ headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/svg1/132' });
    avatarDownload('/mmopen/vi_32/svg1/132', svg, 'image/svg+xml');
    wechatNewUser('avatar-svg', refused);
    const first = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-svg');
    await t.op.idp.avatars.settled();
    expect((await fetch(`${t.op.issuer}/avatars/${first.claims.sub}`)).status).toBe(404);

    // A PNG is a PNG whatever its header says, and is served as one.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('png-bytes')]);
    const kept = newWeChatUser({ headimgurl: 'http://thirdwx.qlogo.cn/mmopen/vi_32/png1/132' });
    avatarDownload('/mmopen/vi_32/png1/132', png, 'text/html');
    wechatNewUser('avatar-png', kept);
    const second = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-png');
    await t.op.idp.avatars.settled();
    const image = await fetch(`${t.op.issuer}/avatars/${second.claims.sub}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });

  it('checks the whole origin: WeChat’s avatar hosts on another port are refused', async () => {
    const user = newWeChatUser({ headimgurl: 'https://thirdwx.qlogo.cn:8443/mmopen/vi_32/port1/132' });
    const elsewhere = nock('https://thirdwx.qlogo.cn:8443')
      .get('/mmopen/vi_32/port1/132')
      .reply(200, jpeg('port'), { 'Content-Type': 'image/jpeg' });
    wechatNewUser('avatar-port', user);
    const { claims } = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-port');
    await t.op.idp.avatars.settled();
    expect(elsewhere.isDone()).toBe(false);
    nock.cleanAll();
    expect((await fetch(`${t.op.issuer}/avatars/${claims.sub}`)).status).toBe(404);
  });

  it('fetches avatars only from WeChat’s avatar hosts', async () => {
    const user = newWeChatUser({ headimgurl: 'http://169.254.169.254/latest/meta-data/132' });
    wechatNewUser('avatar-4', user);
    const { tokens, claims } = await signIn(new Browser(), t.op.issuer, t.rp, 'avatar-4');
    const info = await currentClaims(tokens.access_token, claims.sub);
    expect(info.picture).toBe('http://169.254.169.254/latest/meta-data/132');
    expect((await fetch(`${t.op.issuer}/avatars/${claims.sub}`)).status).toBe(404);
  });
});

describe('avatars when WeChat is reached through a gateway (WECHAT_API_ORIGIN)', () => {
  const GATEWAY = 'https://wechat-gateway.example.com';
  const g = useProvider({ WECHAT_API_ORIGIN: GATEWAY });

  it('downloads them from the gateway’s host as from WeChat’s own', async () => {
    const user = newWeChatUser({ headimgurl: `${GATEWAY}/avatars/gw1/132` });
    const text = { 'Content-Type': 'text/plain' };
    nock(GATEWAY)
      .get('/sns/oauth2/access_token')
      .query((q) => q.code === 'gateway-1' && q.appid === TEST_APP.appId)
      .reply(
        200,
        JSON.stringify({ access_token: 'at-gw', expires_in: 7200, refresh_token: 'rt-gw', openid: user.openid, scope: 'snsapi_userinfo' }),
        text,
      );
    nock(GATEWAY)
      .get('/sns/userinfo')
      .query((q) => q.openid === user.openid)
      .reply(200, JSON.stringify({ openid: user.openid, nickname: user.nickname, headimgurl: user.headimgurl, privilege: [] }), text);
    const download = nock(GATEWAY).get('/avatars/gw1/132').reply(200, jpeg('gateway'), { 'Content-Type': 'image/jpeg' });

    const { tokens, claims } = await signIn(new Browser(), g.op.issuer, g.rp, 'gateway-1');
    await g.op.idp.avatars.settled();
    expect(download.isDone()).toBe(true);
    const info = await oidc.fetchUserInfo(g.rp.config, tokens.access_token, claims.sub);
    expect(info.picture).toMatch(new RegExp(`^${g.op.issuer}/avatars/${claims.sub}\\?v=`));
    expect(Buffer.from(await (await fetch(info.picture as string)).arrayBuffer())).toEqual(jpeg('gateway'));
  });
});
