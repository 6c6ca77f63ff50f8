import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/env.js';
import { currentRequestId } from './observability/request-log.js';

export type { Logger };

/**
 * Structured JSON logs. Anything that could carry a secret is redacted by path as a second
 * line of defence: the code itself never hands a secret, code or token to the logger.
 *
 * Every line written while a request is being handled carries that request's `requestId`
 * (see observability/request-log.ts), without the call sites passing it.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    mixin() {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
    redact: {
      paths: ['*.appSecret', '*.client_secret', '*.access_token', '*.refresh_token', '*.code', '*.secret', 'req.headers.cookie', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  // Written to stdout asynchronously: while one write is under way the next lines gather and
  // go out together, so under load a line costs far less than a write call of its own, and
  // when idle each line still goes out at once. pino flushes what is pending when the process
  // exits, SIGTERM included.
  return pino(options, destination ?? pinoDestination({ dest: 1, sync: false }));
}
