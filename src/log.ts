import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/env.js';

export type { Logger };

/**
 * Structured JSON logs. Anything that could carry a secret is redacted by path as a second
 * line of defence: the code itself never hands a secret, code or token to the logger.
 */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    redact: {
      paths: ['*.appSecret', '*.client_secret', '*.access_token', '*.refresh_token', '*.code', '*.secret', 'req.headers.cookie', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
