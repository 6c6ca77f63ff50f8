import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Koa from 'koa';
import Provider from 'oidc-provider';
import type { Knex } from 'knex';
import type { JWK } from 'oidc-provider';
import type { Config } from './config/index.js';
import { createKnex, migrateLatest } from './db/knex.js';
import { databaseTarget } from './db/target.js';
import { waitForDatabase } from './db/startup-wait.js';
import { createLogger, type Logger } from './log.js';
import { AccountStore } from './accounts/store.js';
import { AvatarStore } from './accounts/avatars.js';
import { avatarRouter } from './accounts/avatar-route.js';
import { currentKeySet } from './oidc/keys.js';
import { LiveProvider } from './oidc/live-provider.js';
import { databaseOutageAnswers, noteDatabaseOutage } from './oidc/outage.js';
import { unauthorizedClientAnswers } from './oidc/unauthorized-client.js';
import { providerErrors } from './oidc/provider-errors.js';
import { heldWritesScope } from './oidc/held-writes.js';
import { cachePublicDocuments } from './oidc/public-documents.js';
import { authenticatedPushedRequests, boundedAuthorizationRequests } from './oidc/request-size.js';
import { revokeAccounts } from './oidc/stored-rows.js';
import { startLogoutDelivery } from './oidc/logout-delivery.js';
import { mergeAccountsSharingUnionid } from './accounts/merge.js';
import { providerConfiguration } from './oidc/configuration.js';
import { WeChatClient, type WeChatApp } from './wechat/client.js';
import { StateStore } from './interaction/states.js';
import { WeChatLogin } from './interaction/wechat-login.js';
import { interactionRouter } from './interaction/routes.js';
import { PhoneLinks } from './interaction/phone-links.js';
import { TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMETERS, wechatCodeExchange } from './exchange/token-exchange.js';
import { findAccountFor } from './oidc/find-account.js';
import { OfficialAccountRedirect } from './interaction/wechat-redirect.js';
import { straightToWeChat } from './interaction/straight-to-wechat.js';
import { installViews } from './pages/views.js';
import { rememberLanguageChoice } from './pages/language.js';
import { isProviderApiPath, isProviderPath } from './oidc/routes.js';
import { staticFiles } from './pages/static.js';
import { securityHeaders } from './pages/security-headers.js';
import { secureCookies } from './pages/secure-cookies.js';
import { languageSwitchRouter } from './pages/language-switch.js';
import { errorPages } from './pages/errors.js';
import { homeRouter } from './pages/home.js';
import { messageRouter, renderMessage } from './pages/message-page.js';
import { issuerHostOnly } from './pages/issuer-host.js';
import { requestLog } from './observability/request-log.js';
import { rateLimits } from './limits/rate-limits.js';
import { Metrics } from './observability/metrics.js';
import { HEALTH_PATHS, healthRouter } from './observability/health.js';

export interface IdentityProvider {
  koa: Koa;
  /** `/metrics` alone, for a listener of its own. */
  metricsApp: Koa;
  /** The oidc-provider instance in use now; it is rebuilt when the signing keys change. */
  readonly provider: Provider;
  /** Re-reads the signing keys now (instead of at the next periodic reload); true if they changed. */
  reloadKeys(now?: number): Promise<boolean>;
  db: Knex;
  logger: Logger;
  accounts: AccountStore;
  metrics: Metrics;
  avatars: AvatarStore;
  close(): Promise<void>;
}

/**
 * Composes the service: our own routes (pages, login step, sandbox, demo) in front, and
 * oidc-provider behind them for every protocol endpoint. Migrates the database and loads the
 * signing keys before it answers anything.
 */
export async function createIdentityProvider(config: Config, logger = createLogger(config.settings.logLevel)): Promise<IdentityProvider> {
  const { settings, clients } = config;
  // The settings refused a named SQLite path whose directory is missing: what is left to
  // create is the default's data/ directory.
  const target = databaseTarget(settings.databaseUrl);
  if (target.kind === 'sqlite' && target.file !== ':memory:') mkdirSync(dirname(target.file!), { recursive: true });
  const db = createKnex(settings.databaseUrl, logger, { sqliteSynchronous: settings.sqliteSynchronous });
  try {
    await waitForDatabase(db, settings.databaseUrl, settings.databaseWaitSeconds, logger);
    await migrateLatest(db);
    // The sandbox and the demo app are development tools: production never loads their code.
    const sandbox = settings.sandbox ? await import('./sandbox/app.js') : undefined;
    const keySet = await currentKeySet(db);
    const accounts = new AccountStore(db);
    // Avatars are fetched from WeChat's hosts only, and from the origins the operator set up as
    // WeChat: the built-in sandbox is this server itself; WECHAT_API_ORIGIN may name a proxy.
    const wechatOrigins = new Set([settings.wechatApiOrigin, settings.wechatOpenOrigin].map((origin) => new URL(origin).origin));
    const avatars = new AvatarStore(db, logger, wechatOrigins);
    // Without WeChat credentials (development only; the config refuses it in production)
    // the built-in sandbox plays WeChat.
    const wechatApp: WeChatApp = settings.wechat ?? sandbox!.sandboxApp();
    // QR sign-in on desktops needs a website app; the sandbox has one of its own.
    const webApp: WeChatApp | undefined = settings.wechatWeb ?? sandbox?.sandboxWebApp();

    const states = new StateStore(db);
    const officialAccount = new OfficialAccountRedirect({
      states,
      wechatApp,
      openOrigin: settings.wechatOpenOrigin,
      issuer: settings.issuer,
      silentLogin: settings.silentLogin,
    });

    const metrics = new Metrics();
    const wechat = new WeChatClient({ apiOrigin: settings.wechatApiOrigin, observer: metrics.wechatAttempt });
    const login = new WeChatLogin(
      wechat,
      accounts,
      logger,
      // The browser's own session is left to the sign-in resumed in the same request,
      // which replaces it: deleted under it, that sign-in could not resume.
      (unionid, browserSession) =>
        mergeAccountsSharingUnionid(db, unionid, logger, (trx, ids) => revokeAccounts(trx, ids, { keepSession: browserSession })),
      avatars,
    );
    // Mini-programs and mobile apps trade a WeChat code at /token (exchange/); in development
    // without their credentials the sandbox plays both.
    const codeExchange = wechatCodeExchange({
      apps: { mini: settings.wechatMini ?? sandbox?.sandboxMiniApp(), mobile: settings.wechatMobile ?? sandbox?.sandboxMobileApp() },
      login,
      findAccount: findAccountFor(accounts, wechatApp.appId, settings.issuer),
      logger,
      onSignin: metrics.signin,
    });
    const pages = { cache: settings.nodeEnv !== 'development', sandbox: settings.sandbox };
    const https = settings.issuer.startsWith('https:');
    const buildProvider = (signingKeys: JWK[]): Provider => {
      const provider = new Provider(
        settings.issuer,
        providerConfiguration({
          db,
          accounts,
          clients: clients,
          signingKeys,
          cookieKeys: settings.cookieKeys,
          officialAppId: wechatApp.appId,
          issuer: settings.issuer,
          pushedAuthorizationRequests: settings.pushedAuthorizationRequests,
        }),
      );
      provider.proxy = settings.trustProxy;
      provider.registerGrantType(TOKEN_EXCHANGE_GRANT, codeExchange, TOKEN_EXCHANGE_PARAMETERS);
      provider.use(providerErrors(logger));
      if (https) provider.use(secureCookies);
      provider.use(heldWritesScope);
      provider.use(cachePublicDocuments);
      provider.use(straightToWeChat(officialAccount));
      installViews(provider, pages);
      provider.use(rememberLanguageChoice);
      provider.use(boundedAuthorizationRequests);
      if (settings.pushedAuthorizationRequests) provider.use(authenticatedPushedRequests);
      provider.use(async (ctx, next) => {
        await next();
        if (ctx.status === 404 && !ctx.body) await renderMessage(ctx, 'not_found');
      });
      provider.use(databaseOutageAnswers);
      provider.use(unauthorizedClientAnswers);
      // Sign-out: oidc-provider sends the logout tokens itself, once, while the page waits.
      provider.on('backchannel.success', (_ctx, client, accountId) => {
        logger.info({ event: 'backchannel_logout', client: client.clientId, sub: accountId, outcome: 'sent' }, 'logout token sent');
        metrics.backchannelLogout('sent');
      });
      provider.on('backchannel.error', (_ctx, error, client, accountId) => {
        logger.warn(
          { event: 'backchannel_logout', client: client.clientId, sub: accountId, outcome: 'failed', message: error.message },
          'logout token not taken at sign-out',
        );
        metrics.backchannelLogout('failed');
      });
      provider.on('server_error', (ctx, error) => {
        noteDatabaseOutage(ctx, error);
        logger.error({ event: 'provider_error', name: error.name, message: error.message }, 'oidc-provider server error');
      });
      return provider;
    };
    const live = new LiveProvider(buildProvider, keySet);
    const keyWatch = live.watch(db, logger);
    const logoutDelivery = startLogoutDelivery({ db, provider: () => live.current, logger, onOutcome: metrics.backchannelLogout });

    // Operations first: every request is logged and timed, probes and scrapes answer before
    // any page machinery runs (and are logged at debug only).
    const koa = new Koa();
    koa.keys = settings.cookieKeys;
    koa.proxy = settings.trustProxy;
    // The proxy appends the address it saw to X-Forwarded-For: only that last entry is its
    // word; anything before it came from the client and could be forged.
    koa.maxIpsCount = 1;
    koa.use(requestLog(logger, { quietPaths: HEALTH_PATHS }));
    koa.use(metrics.http());
    koa.use(issuerHostOnly(settings.issuer, HEALTH_PATHS));
    koa.use(securityHeaders({ https, isApiPath: isProviderApiPath }));
    if (https) koa.use(secureCookies);
    koa.use(errorPages(logger));
    // Pages render from here on: the limits answer a browser with one.
    installViews(koa, pages);
    koa.use(
      rateLimits({
        db,
        settings: settings.rateLimits,
        clientIds: new Set(clients.map((client) => client.client_id)),
        logger,
        onLimited: metrics.rateLimited,
      }),
    );
    // Protocol requests (tokens, userinfo, discovery, …) are most of the traffic: straight to
    // oidc-provider, past the routers of our pages.
    const toProvider = async (ctx: Koa.Context) => {
      ctx.respond = false;
      await live.handle(ctx.req, ctx.res);
    };
    koa.use((ctx, next) => (isProviderPath(ctx.path) ? toProvider(ctx) : next()));
    // The login step's writes (the interaction it ends) go with those of the sign-in it resumes.
    koa.use(heldWritesScope);
    koa.use(healthRouter({ db }).routes());
    koa.use(rememberLanguageChoice);
    koa.use(staticFiles(['style.css', 'favicon.svg', 'phone-wait.js']));
    koa.use(homeRouter({ demo: settings.demo, issuer: settings.issuer }).routes());
    koa.use(languageSwitchRouter().routes());
    koa.use(avatarRouter(avatars).routes());
    koa.use(messageRouter().routes());

    koa.use(
      interactionRouter({
        provider: () => live.current,
        resume: (req, res) => live.handle(req, res),
        states,
        login,
        accounts,
        wechatApp,
        officialAccount,
        webApp,
        openOrigin: settings.wechatOpenOrigin,
        issuer: settings.issuer,
        logger,
        onSignin: metrics.signin,
        phoneLinks: new PhoneLinks(db),
        onPhone: metrics.phone,
        sandbox: settings.sandbox,
      }).routes(),
    );
    if (settings.sandbox) {
      const { sandboxRouter } = await import('./sandbox/routes.js');
      koa.use(
        sandboxRouter({
          db,
          issuer: settings.issuer,
          appId: wechatApp.appId,
          appSecret: wechatApp.appSecret,
          webApp,
          miniApp: settings.wechatMini ? undefined : sandbox!.sandboxMiniApp(),
          mobileApp: settings.wechatMobile ? undefined : sandbox!.sandboxMobileApp(),
        }).routes(),
      );
    }
    if (settings.demo) {
      const { demoRouter } = await import('./demo/routes.js');
      koa.use(demoRouter({ issuer: settings.issuer, logger }).routes());
    }

    // Anything else: oidc-provider answers it (with our "not found" page when it has nothing).
    koa.use(toProvider);

    // Served on a port of its own (main.ts, METRICS_PORT), never on the public one.
    const metricsApp = new Koa();
    metricsApp.use(metrics.router().routes());

    return {
      koa,
      metricsApp,
      get provider() {
        return live.current;
      },
      reloadKeys: (now?: number) => live.reload(db, now),
      db,
      logger,
      accounts,
      metrics,
      avatars,
      async close() {
        keyWatch.stop();
        await logoutDelivery.stop();
        await avatars.settled();
        await db.destroy();
      },
    };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
