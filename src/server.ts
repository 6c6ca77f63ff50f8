import Koa from 'koa';
import Provider from 'oidc-provider';
import type { Knex } from 'knex';
import type { Config } from './config/index.js';
import { createKnex, migrateLatest } from './db/knex.js';
import { createLogger, type Logger } from './log.js';
import { AccountStore } from './accounts/store.js';
import { loadSigningKeys } from './oidc/keys.js';
import { providerConfiguration } from './oidc/configuration.js';
import { WeChatClient, type WeChatApp } from './wechat/client.js';
import { StateStore } from './interaction/states.js';
import { WeChatLogin } from './interaction/wechat-login.js';
import { interactionRouter } from './interaction/routes.js';
import { viewsMiddleware } from './pages/views.js';
import { staticFiles } from './pages/static.js';
import { errorPages } from './pages/errors.js';
import { homeRouter } from './pages/home.js';
import { renderMessage } from './pages/message-page.js';
import { demoRouter } from './demo/routes.js';
import { sandboxApp } from './sandbox/app.js';
import { sandboxRouter } from './sandbox/routes.js';

export interface IdentityProvider {
  koa: Koa;
  provider: Provider;
  db: Knex;
  logger: Logger;
  accounts: AccountStore;
  close(): Promise<void>;
}

/**
 * Composes the service: our own routes (pages, login step, sandbox, demo) in front, and
 * oidc-provider behind them for every protocol endpoint. Migrates the database and loads the
 * signing keys before it answers anything.
 */
export async function createIdentityProvider(config: Config, logger = createLogger(config.settings.logLevel)): Promise<IdentityProvider> {
  const { settings, clients } = config;
  const db = createKnex(settings.databaseUrl);
  try {
    await migrateLatest(db);
    const signingKeys = await loadSigningKeys(db);
    const accounts = new AccountStore(db);
    // Without WeChat credentials (development only; the config refuses it in production)
    // the built-in sandbox plays WeChat.
    const wechatApp: WeChatApp = settings.wechat ?? sandboxApp();

    const provider = new Provider(settings.issuer, providerConfiguration({
      db,
      accounts,
      clients: clients as never,
      signingKeys,
      cookieKeys: settings.cookieKeys,
      officialAppId: wechatApp.appId,
    }));
    provider.proxy = settings.trustProxy;

    const views = viewsMiddleware({ cache: settings.nodeEnv !== 'development' });
    const pageState: Koa.Middleware = async (ctx, next) => {
      ctx.state.sandbox = settings.sandbox;
      await next();
    };
    provider.use(pageState);
    provider.use(views);
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.status === 404 && !ctx.body) await renderMessage(ctx, 'not_found');
    });
    provider.on('server_error', (_ctx, error) => {
      logger.error({ event: 'provider_error', name: error.name, message: error.message }, 'oidc-provider server error');
    });

    const koa = new Koa();
    koa.keys = settings.cookieKeys;
    koa.proxy = settings.trustProxy;
    koa.use(errorPages(logger));
    koa.use(pageState);
    koa.use(views);
    koa.use(staticFiles(['style.css']));
    koa.use(homeRouter({ demo: !settings.production, issuer: settings.issuer }).routes());

    const wechat = new WeChatClient({ apiOrigin: settings.wechatApiOrigin });
    koa.use(interactionRouter({
      provider,
      states: new StateStore(db),
      login: new WeChatLogin(wechat, accounts, logger),
      accounts,
      wechatApp,
      openOrigin: settings.wechatOpenOrigin,
      issuer: settings.issuer,
      logger,
    }).routes());
    if (settings.sandbox) {
      koa.use(sandboxRouter({ db, issuer: settings.issuer, appId: wechatApp.appId, appSecret: wechatApp.appSecret }).routes());
    }
    if (!settings.production) koa.use(demoRouter({ issuer: settings.issuer, logger }).routes());

    // Everything else is oidc-provider's: discovery, /auth, /token, /me, /jwks, logout, ….
    const providerCallback = provider.callback();
    koa.use(async (ctx) => {
      ctx.respond = false;
      await providerCallback(ctx.req, ctx.res);
    });

    return {
      koa,
      provider,
      db,
      logger,
      accounts,
      async close() {
        await db.destroy();
      },
    };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
