// The service: `node dist/src/main.js` (what `npm start` runs). Reads the settings once, opens
// the database, listens, and stops gracefully on SIGTERM or SIGINT.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, ConfigError } from './config/index.js';
import { abandonLogs, createLogger, flushLogs } from './log.js';
import { createIdentityProvider } from './server.js';
import { startCleanup } from './db/cleanup.js';
import { listenForMetrics } from './observability/metrics-server.js';
import { cleanupTasks } from './cleanup-tasks.js';
import { startPostgresStatistics } from './db/pg-statistics.js';
import { DatabaseStartError } from './db/startup-wait.js';
import { databaseTarget } from './db/target.js';

/** How long a stop may take: requests in flight finish, the database pool closes, logs go out. */
const STOP_LIMIT_MS = 10_000;

/**
 * What one connection may hold: a client that sends its headers slowly (or never finishes
 * them) is cut off after 10 s, a whole request after 30 s; idle kept-alive connections close
 * after 5 s. Node's defaults (60 s, 300 s) let a few thousand half-open connections hold the
 * service for minutes. Checked every second rather than every 30 s.
 */
const CONNECTION_LIMITS = { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };
/** Beyond this many open connections new ones are refused at once, before they cost memory. */
const MAX_CONNECTIONS = 10_000;

function fail(message: string): never {
  process.stderr.write(`Failed to start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error:\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { settings } = config;
  const logger = createLogger(settings.logLevel, { pretty: settings.nodeEnv === 'development' && process.stdout.isTTY === true });
  let idp;
  try {
    idp = await createIdentityProvider(config, logger);
  } catch (error) {
    abandonLogs(logger);
    if (error instanceof DatabaseStartError) fail(error.message);
    throw error;
  }
  let metrics: Awaited<ReturnType<typeof listenForMetrics>>;
  try {
    metrics = await listenForMetrics(idp.metricsApp, settings.metricsPort, settings.metricsHost);
  } catch (error) {
    abandonLogs(logger);
    await idp.close();
    fail((error as Error).message);
  }
  const cleanup = startCleanup(cleanupTasks(idp.db), logger);
  const statistics = idp.db.client.config.client === 'pg' ? startPostgresStatistics(idp.db, logger) : undefined;
  const server = createServer(CONNECTION_LIMITS, idp.koa.callback());
  server.maxConnections = MAX_CONNECTIONS;
  // A port taken by another process (or one below 1024 without the right to bind it) is the
  // operator's to fix: say which setting, then stop, rather than die on an unhandled event.
  server.once('error', (error: NodeJS.ErrnoException) => {
    const why =
      error.code === 'EADDRINUSE'
        ? 'is already in use by another process'
        : error.code === 'EACCES'
          ? 'may not be bound by this user'
          : error.code === 'EADDRNOTAVAIL'
            ? 'names an address this machine does not have'
            : 'cannot be listened on';
    const what =
      error.code === 'EADDRNOTAVAIL' ? `HOST ${settings.host}` : `PORT ${settings.port}${settings.host ? ` on HOST ${settings.host}` : ''}`;
    process.stderr.write(`Failed to start: ${what} ${why} (${error.code ?? error.message})\n`);
    cleanup.stop();
    statistics?.stop();
    metrics.server.close();
    abandonLogs(logger);
    setTimeout(() => process.exit(1), 5_000).unref();
    void idp.close().finally(() => process.exit(1));
  });
  // No HOST: every interface (IPv6 and IPv4), as Node listens by default.
  server.listen(settings.port, settings.host, () => {
    const { address, port } = server.address() as AddressInfo;
    const listening = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    logger.info(
      {
        event: 'started',
        listening,
        issuer: settings.issuer,
        database: databaseTarget(settings.databaseUrl).label,
        sandbox: settings.sandbox,
        metrics: metrics.address,
        // 0 = off; per minute (docs/operations.md, "Security")
        rateLimits: settings.rateLimits,
        pushedAuthorizationRequests: settings.pushedAuthorizationRequests,
      },
      `listening on ${listening} for issuer ${settings.issuer}`,
    );
    if (settings.sandbox) logger.warn({ event: 'sandbox' }, 'no WeChat credentials: the built-in WeChat sandbox plays WeChat');
    if (settings.cookieKeysGenerated)
      logger.warn({ event: 'cookie_keys' }, 'COOKIE_KEYS not set: a temporary key signs cookies until the next restart');
  });

  // Stop taking connections, let requests in flight finish, close the database pool, send the
  // last log lines; whatever is still busy after STOP_LIMIT_MS is abandoned. Ctrl+C twice at a
  // terminal stops at once; a repeated SIGTERM (supervisors may send several) changes nothing.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping && signal === 'SIGINT') {
      abandonLogs(logger);
      process.exit(1);
    }
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'stopping', signal }, 'shutting down');
    cleanup.stop();
    statistics?.stop();
    setTimeout(() => {
      abandonLogs(logger);
      process.exit(1);
    }, STOP_LIMIT_MS).unref();
    metrics.server.close();
    server.close(() => {
      void idp
        .close()
        .then(() => logger.info({ event: 'stopped' }, 'stopped'))
        .then(() => flushLogs(logger, 2_000))
        .then(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const err = error as Error;
  fail(`${err.name}: ${err.message}`);
});
