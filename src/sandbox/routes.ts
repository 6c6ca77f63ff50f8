import Router from '@koa/router';
import type { Knex } from 'knex';
import { addApiRoutes } from './api-routes.js';
import { addAuthorizeRoutes } from './authorize-routes.js';
import { SandboxGrants } from './grants.js';
import { SandboxUsers } from './users.js';

export interface SandboxDeps {
  db: Knex;
  /** This server's issuer: the sandbox lives at `${issuer}/sandbox`, and only redirects here. */
  issuer: string;
  appId: string;
  appSecret: string;
  /** Tests pass their own to age codes; otherwise one per router. */
  grants?: SandboxGrants;
}

/**
 * A WeChat look-alike for development, demos and tests: the browser half
 * (open.weixin.qq.com/connect/oauth2/authorize) and the API half (api.weixin.qq.com/sns/…),
 * both under /sandbox. It is as strict as WeChat, so that what works here works there.
 */
export function sandboxRouter(deps: SandboxDeps): Router {
  const router = new Router();
  const shared = {
    users: new SandboxUsers(deps.db),
    grants: deps.grants ?? new SandboxGrants(),
    issuer: deps.issuer.replace(/\/+$/, ''),
    appId: deps.appId,
  };
  addAuthorizeRoutes(router, shared);
  addApiRoutes(router, { ...shared, appSecret: deps.appSecret });
  return router;
}
