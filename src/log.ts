import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/env.js';
import { currentRequestContext } from './request-context.js';

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
      const requestId = currentRequestContext()?.requestId;
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
  const stream = destination ?? pinoDestination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
  const logger = pino(options, stream);
  // Request lines (see observability/request-log.ts) carry only fields the request log builds
  // itself (method, path, status, duration, id, address), never a secret: they skip the
  // redaction and the mixin, which otherwise cost more than the line itself. Same stream,
  // same level, same format.
  requestLines.set(logger, pino({ level }, stream));
  return logger;
}

const requestLines = new WeakMap<Logger, Logger>();

/** The logger for request lines that goes with `logger` (itself, for a logger made elsewhere). */
export function requestLineLogger(logger: Logger): Logger {
  return requestLines.get(logger) ?? logger;
}
