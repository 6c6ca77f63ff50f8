import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import got from 'got';

/**
 * GET requests to WeChat (its API, its avatar hosts), with got over kept-alive connections.
 *
 * got brings the per-call time limit, the handling of answers cut short and the error codes;
 * what is set here is what WeChat needs on top: a size limit, and errors that never carry the
 * URL (its query holds the AppSecret, a code or a token), which got's own errors and their
 * options do.
 */

export interface GetAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Why no answer came: a short code (ETIMEDOUT, ECONNREFUSED, ECONNRESET, TOO_LARGE, …), never the URL. */
export class GetFailed extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = 'GetFailed';
  }
}

// Idle connections are closed after a while, before WeChat's side would drop them under a
// request of ours.
const IDLE_MS = 4000;

const client = got.extend({
  agent: {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_MS }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_MS }),
  },
  // Some CDNs turn away requests that name no client.
  headers: { 'user-agent': 'wechat-oidc-provider', accept: '*/*' },
  // The callers read the status themselves (a 5xx is WeChat being busy, a 404 a missing avatar).
  throwHttpErrors: false,
  // Each attempt is the caller's to decide and to observe (WeChatClient retries busy answers
  // itself), so that a single-use code is never sent twice blindly; no redirect is followed.
  retry: { limit: 0 },
  followRedirect: false,
  // Nothing asks for compression, so the size limit counts the bytes the answer really has.
  decompress: false,
});

export async function get(url: URL, options: { timeoutMs: number; maxBytes: number }): Promise<GetAnswer> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GetFailed('EPROTO');
  // One limit for the whole call (connecting, waiting, reading), as a person is waiting.
  const request = client(url, { responseType: 'buffer', timeout: { request: options.timeoutMs } });
  let tooLarge = false;
  // `total` is the declared content-length, seen before any byte of the body; `transferred`
  // catches a body sent without one. Either way the body is read only up to the limit.
  // (`on` hands back the request, itself a promise: it is awaited below.)
  void request.on('downloadProgress', ({ transferred, total }) => {
    if (tooLarge || (transferred <= options.maxBytes && (total ?? 0) <= options.maxBytes)) return;
    tooLarge = true;
    request.cancel();
  });
  try {
    const response = await request;
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    // A new error without a cause: got's carries the URL in its options and sometimes its message.
    throw new GetFailed(tooLarge ? 'TOO_LARGE' : errorCode(error));
  }
}

/** A system error code (ETIMEDOUT, ECONNREFUSED, EPROTO, …); got's own ERR_… codes say nothing WeChat's callers act on. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E(?!RR_)[A-Z0-9_]+$/.test(code) ? code : 'network error';
}
