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
  // Written to stdout asynchronously and in blocks: lines gather until 4 KiB are waiting (a
  // write call per line was a sizeable share of a busy provider's CPU), and whatever is
  // waiting goes out at least every quarter of a second, so a quiet service's lines are not
  // held back longer than that. pino flushes what is pending when the process exits, SIGTERM
  // included.
  return pino(options, destination ?? pinoDestination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }));
}
