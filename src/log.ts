import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogLevel } from './config/env.js';
import { currentRequestContext } from './request-context.js';

export type { Logger };

/** Where the service's own log goes: JSON lines, or readable lines for a person at a terminal. */
export interface LogOutput {
  /** Readable, coloured lines (pino-pretty) instead of JSON: development at a terminal. */
  pretty?: boolean;
  /** Tests pass their own stream. */
  destination?: DestinationStream;
}

/** The subset of pino's stdout stream (sonic-boom) that the shutdown needs. */
interface FlushableStream {
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

const streams = new WeakMap<Logger, FlushableStream>();
const requestLines = new WeakMap<Logger, Logger>();

/**
 * Structured logs. Anything that could carry a secret is redacted by path as a second line of
 * defence: the code itself never hands a secret, code or token to the logger.
 *
 * Every line written while a request is being handled carries that request's `requestId`
 * (see observability/request-log.ts), without the call sites passing it.
 */
export function createLogger(level: LogLevel, output: DestinationStream | LogOutput = {}): Logger {
  const { pretty = false, destination } = 'write' in output ? { destination: output } : output;
  const options = {
    level,
    mixin() {
      const requestId = currentRequestContext()?.requestId;
      return requestId ? { requestId } : {};
    },
    redact: {
      paths: [
        '*.appSecret',
        '*.client_secret',
        '*.access_token',
        '*.refresh_token',
        '*.code',
        '*.secret',
        'req.headers.cookie',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  let stream: DestinationStream;
  if (destination) stream = destination;
  else if (pretty) stream = PinoPretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  else {
    // Written to stdout asynchronously and in blocks: lines gather until 4 KiB are waiting (a
    // write call per line was a sizeable share of a busy provider's CPU), and whatever is
    // waiting goes out at least every quarter of a second. flushLogs() sends the rest at exit.
    const stdout = pinoDestination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
    stream = stdout;
  }
  const logger = pino(options, stream);
  if (!destination && !pretty) streams.set(logger, stream as unknown as FlushableStream);
  // Request lines (see observability/request-log.ts) carry only fields the request log builds
  // itself (method, path, status, duration, id, address), never a secret: they skip the
  // redaction and the mixin, which otherwise cost more than the line itself. Same stream,
  // same level, same format.
  requestLines.set(logger, pino({ level }, stream));
  return logger;
}

/** The logger for request lines that goes with `logger` (itself, for a logger made elsewhere). */
export function requestLineLogger(logger: Logger): Logger {
  return requestLines.get(logger) ?? logger;
}

/**
 * Sends the lines still waiting in memory, for at most `timeoutMs`, then makes sure nothing
 * at exit waits on stdout again. Whatever reads stdout may be gone (a closed pipe) or stuck
 * (a log shipper restarting): pino's own flush at exit would then retry forever and the
 * process would never end. Those last lines are given up instead.
 */
export async function flushLogs(logger: Logger, timeoutMs: number): Promise<void> {
  const stream = streams.get(logger);
  if (!stream) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    try {
      stream.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
  abandonLogs(logger);
}

/** From now on nothing waits on stdout: the flush pino runs at exit does nothing. */
export function abandonLogs(logger: Logger): void {
  const stream = streams.get(logger);
  if (stream) stream.flushSync = () => {};
}
