import { createServer } from 'node:http';
import { loadConfig, ConfigError } from './config/index.js';
import { createLogger } from './log.js';
import { createIdentityProvider } from './server.js';
import { startCleanup } from './db/cleanup.js';
import { startPostgresStatistics } from './db/pg-statistics.js';

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
  const logger = createLogger(settings.logLevel);
  const idp = await createIdentityProvider(config, logger);
  const cleanup = startCleanup(idp.db, logger);
  const statistics = idp.db.client.config.client === 'pg' ? startPostgresStatistics(idp.db, logger) : undefined;
  const server = createServer(idp.koa.callback());
  // A port taken by another process (or one below 1024 without the right to bind it) is the
  // operator's to fix: say which setting, then stop, rather than die on an unhandled event.
  server.once('error', (error: NodeJS.ErrnoException) => {
    const why = error.code === 'EADDRINUSE' ? 'is already in use by another process' : error.code === 'EACCES' ? 'may not be bound by this user' : 'cannot be listened on';
    process.stderr.write(`Failed to start: PORT ${settings.port} ${why} (${error.code ?? error.message})\n`);
    cleanup.stop();
    statistics?.stop();
    setTimeout(() => process.exit(1), 5_000).unref();
    void idp.close().finally(() => process.exit(1));
  });
  server.listen(settings.port, () => {
    logger.info({ event: 'started', issuer: settings.issuer, port: settings.port, sandbox: settings.sandbox }, `listening on ${settings.issuer}`);
    if (settings.sandbox) logger.warn({ event: 'sandbox' }, 'no WeChat credentials: the built-in WeChat sandbox plays WeChat');
    if (settings.cookieKeysGenerated) logger.warn({ event: 'cookie_keys' }, 'COOKIE_KEYS not set: a temporary key signs cookies until the next restart');
  });

  // Stop taking connections, let requests in flight finish, then close the database pool.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'stopping', signal }, 'shutting down');
    cleanup.stop();
    statistics?.stop();
    server.close(() => {
      void idp.close().then(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const err = error as Error;
  process.stderr.write(`Failed to start: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
