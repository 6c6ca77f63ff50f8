// The limit the benchmark compares us with: a bare oidc-provider whose login step makes the
// same WeChat round trip against the same sandbox (redirect to WeChat's authorize page, code
// exchange, userinfo) and nothing else: provider models in Maps (memory-adapter.ts),
// accounts in a Map, no logs, no metrics, no database of its own. The protocol settings that
// decide how much work a request is (PKCE, RS256, claims in the ID token, rotated refresh
// tokens, lifetimes, consent skipped for the first-party client) are the same as ours.
// Run as its own process by bench/target.ts: PORT, BENCH_CLIENT_SECRET, WECHAT_APP_ID,
// WECHAT_APP_SECRET and WECHAT_ORIGIN (the sandbox process) from the environment.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import Provider from 'oidc-provider';
import { TTL } from '../src/oidc/ttl.js';
import { loadExistingGrant } from '../src/oidc/existing-grant.js';
import { newRsaPrivateJwk } from '../src/oidc/rsa-key.js';
import { get } from '../src/http/get.js';
import { benchClient } from './client.js';
import { MemoryAdapter } from './memory-adapter.js';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
// WeChat: the sandbox process the benchmark started for this run.
const wechat = { appId: process.env.WECHAT_APP_ID!, appSecret: process.env.WECHAT_APP_SECRET! };
const wechatOrigin = process.env.WECHAT_ORIGIN!;

interface Person {
  sub: string;
  openid: string;
  unionid?: string;
  nickname: string;
  headimgurl: string;
}
const people = new Map<string, Person>(); // by openid
const bySub = new Map<string, Person>();

const signingKey = { ...newRsaPrivateJwk(), kid: 'baseline', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients: [benchClient(issuer, process.env.BENCH_CLIENT_SECRET!) as never],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  extraClientMetadata: { properties: ['skip_consent'] },
  loadExistingGrant,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const person = bySub.get(sub);
    if (!person) return undefined;
    return {
      accountId: sub,
      claims: () => ({
        sub,
        openid: person.openid,
        unionid: person.unionid,
        nickname: person.nickname,
        name: person.nickname,
        headimgurl: person.headimgurl,
        picture: person.headimgurl,
      }),
    };
  },
  scopes: ['openid', 'profile', 'offline_access'],
  claims: { openid: ['sub', 'openid', 'unionid'], profile: ['name', 'nickname', 'picture', 'headimgurl'] },
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  ttl: { ...TTL },
});

const router = new Router();
const states = new Map<string, string>(); // WeChat state → interaction uid

router.get('/interaction/:uid', async (ctx) => {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const state = randomBytes(16).toString('hex');
  states.set(state, details.uid);
  const redirectUri = `${issuer}/interaction/${details.uid}/wechat/callback`;
  ctx.redirect(
    `${wechatOrigin}/connect/oauth2/authorize?appid=${wechat.appId}&redirect_uri=${encodeURIComponent(redirectUri)}` +
      `&response_type=code&scope=snsapi_userinfo&state=${state}#wechat_redirect`,
  );
});

// WeChat is called as ours calls it (src/http/get.ts, got on kept-alive connections), so that
// the HTTP client is no part of the difference to the limit.
async function wechatApi(path: string, query: Record<string, string>): Promise<Record<string, string>> {
  const answer = await get(new URL(`${wechatOrigin}${path}?${new URLSearchParams(query).toString()}`), {
    timeoutMs: 5000,
    maxBytes: 64 * 1024,
  });
  return JSON.parse(answer.body.toString('utf8')) as Record<string, string>;
}

router.get('/interaction/:uid/wechat/callback', async (ctx) => {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const state = String(ctx.query.state);
  if (states.get(state) !== details.uid) ctx.throw(400, 'bad state');
  states.delete(state);
  const token = await wechatApi('/sns/oauth2/access_token', {
    appid: wechat.appId,
    secret: wechat.appSecret,
    code: String(ctx.query.code),
    grant_type: 'authorization_code',
  });
  const info = await wechatApi('/sns/userinfo', { access_token: token.access_token!, openid: token.openid!, lang: 'zh_CN' });
  let person = people.get(info.openid!);
  if (!person) {
    person = {
      sub: randomBytes(12).toString('base64url'),
      openid: info.openid!,
      unionid: info.unionid,
      nickname: info.nickname!,
      headimgurl: info.headimgurl!,
    };
    people.set(person.openid, person);
    bySub.set(person.sub, person);
  } else {
    person.nickname = info.nickname!;
    person.headimgurl = info.headimgurl!;
  }
  const redirectTo = await provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId: person.sub } },
    { mergeWithLastSubmission: false },
  );
  ctx.status = 303;
  ctx.redirect(redirectTo);
});

const koa = new Koa();
koa.use(router.routes());
const providerCallback = provider.callback();
koa.use(async (ctx) => {
  ctx.respond = false;
  await providerCallback(ctx.req, ctx.res);
});

createServer(koa.callback()).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
// A normal exit on SIGTERM, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
