import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { SandboxGrants } from './grants.js';
import { avatarUrlFor, openidFor, randomNickname, type SandboxUser, type SandboxUsers } from './users.js';

export interface CodeDeps {
  users: SandboxUsers;
  grants: SandboxGrants;
  issuer: string;
  miniAppId?: string;
  mobileAppId?: string;
}

const SUBJECT_TOKEN_TYPES = { mini: 'urn:wechat:token-type:js-code', mobile: 'urn:wechat:token-type:app-code' } as const;

/**
 * `/sandbox/codes`: what `wx.login` in a mini-program, or WeChat's SDK in a mobile app, hands
 * the app: a one-time code for a test user, to try the token exchange with curl. The page
 * shows the code and the request that trades it.
 */
export function addCodeRoutes(router: Router, deps: CodeDeps): void {
  const { users, grants } = deps;
  const apps = { mini: deps.miniAppId, mobile: deps.mobileAppId };

  const page = async (ctx: Context, issued?: { code: string; kind: 'mini' | 'mobile'; user: SandboxUser }) => {
    const list = await users.list();
    ctx.set('Cache-Control', 'no-store');
    await ctx.render('sandbox-codes', {
      sandbox: true,
      apps,
      users: list.map((user) => ({ id: user.id, nickname: user.nickname, avatar: avatarUrlFor(deps.issuer, user.id) })),
      suggestedNickname: randomNickname(),
      issued: issued && {
        code: issued.code,
        nickname: issued.user.nickname,
        curl:
          `curl -s ${deps.issuer}/token -d client_id=<your client> ` +
          '-d grant_type=urn:ietf:params:oauth:grant-type:token-exchange ' +
          `-d subject_token_type=${SUBJECT_TOKEN_TYPES[issued.kind]} -d subject_token=${issued.code} -d "scope=openid profile"`,
      },
    });
  };

  router.get('/sandbox/codes', async (ctx) => page(ctx));

  router.post('/sandbox/codes', bodyParser({ enableTypes: ['form'] }), async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const kind = body.kind === 'mobile' ? 'mobile' : 'mini';
    const appId = apps[kind];
    let user: SandboxUser | undefined;
    if (body.action === 'create') user = await users.create(typeof body.nickname === 'string' ? body.nickname : '');
    else if (typeof body.user === 'string') user = await users.find(body.user);
    if (!appId || !user) {
      ctx.status = 400;
      return page(ctx);
    }
    const code = grants.issueCode({
      appId,
      scope: kind === 'mini' ? 'js_code' : 'snsapi_userinfo',
      snapshot: false,
      userId: user.id,
      openid: openidFor(appId, user.id),
      unionid: user.unionid,
    });
    await page(ctx, { code, kind, user });
  });
}
