import Router from '@koa/router';
import type { Knex } from 'knex';
import { addApiRoutes } from './api-routes.js';
import { addAuthorizeRoutes } from './authorize-routes.js';
import { addCodeRoutes } from './code-routes.js';
import { SandboxGrants } from './grants.js';
import { SandboxUsers } from './users.js';

export interface SandboxDeps {
  db: Knex;
  /** This server's issuer: the sandbox lives at `${issuer}/sandbox`, and only redirects here. */
  issuer: string;
  appId: string;
  appSecret: string;
  /** The website app for QR sign-in (open.weixin.qq.com/connect/qrconnect); none → no QR. */
  webApp?: { appId: string; appSecret: string };
  /** The mini-program (wx.login codes, /sns/jscode2session) and the mobile app (SDK codes) whose codes are exchanged at /token. */
  miniApp?: { appId: string; appSecret: string };
  mobileApp?: { appId: string; appSecret: string };
  /** The site WeChat may send people back to (the 网页授权域名): `issuer`'s unless the sandbox
   * stands alone for another server, as in the benchmark. */
  callbackOrigin?: string;
  /** Tests pass their own to age codes; otherwise one per router. */
  grants?: SandboxGrants;
}

/**
 * A WeChat look-alike for development, demos and tests: the browser half
 * (open.weixin.qq.com/connect/oauth2/authorize, and /connect/qrconnect for a website app) and
 * the API half (api.weixin.qq.com/sns/…),
 * both under /sandbox. It is as strict as WeChat, so that what works here works there.
 */
export function sandboxRouter(deps: SandboxDeps): Router {
  const router = new Router();
  const shared = {
    users: new SandboxUsers(deps.db),
    grants: deps.grants ?? new SandboxGrants(),
    issuer: deps.issuer.replace(/\/+$/, ''),
    appId: deps.appId,
    webAppId: deps.webApp?.appId,
    callbackOrigin: deps.callbackOrigin,
  };
  addAuthorizeRoutes(router, shared);
  addCodeRoutes(router, { ...shared, miniAppId: deps.miniApp?.appId, mobileAppId: deps.mobileApp?.appId });
  // The apps whose codes /sns/oauth2/access_token takes: the Official Account, the website app, the mobile app.
  const secrets = new Map([deps, deps.webApp, deps.mobileApp].filter((app) => app !== undefined).map((app) => [app.appId, app.appSecret]));
  addApiRoutes(router, { users: shared.users, grants: shared.grants, issuer: shared.issuer, secrets, miniApp: deps.miniApp });
  return router;
}
