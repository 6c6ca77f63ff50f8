// Server-to-server client for WeChat's web sign-in API:
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
import { get, GetFailed } from '../http/get.js';
import { WeChatError } from './errors.js';

export interface WeChatApp {
  appId: string;
  appSecret: string;
}
export interface WeChatOAuthToken {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  openid: string;
  scope: string;
  unionid?: string;
  isSnapshotUser: boolean;
}
/** A mini-program's `wx.login` code, exchanged: who the person is (the session_key is not kept). */
export interface WeChatMiniSession {
  openid: string;
  unionid?: string;
}
export interface WeChatUserInfo {
  openid: string;
  nickname: string;
  sex: number;
  province: string;
  city: string;
  country: string;
  headimgurl: string;
  privilege: string[];
  unionid?: string;
}
export interface WeChatClientOptions {
  apiOrigin: string;
  /** Per attempt; default 5000. */
  timeoutMs?: number;
  /** Extra attempts for busy/unavailable answers only; default 2. */
  maxRetries?: number;
  /** First back-off; doubled each retry, capped at MAX_RETRY_DELAY_MS; default 200. */
  retryDelayMs?: number;
  /** Told about every attempt (retries included), e.g. to keep metrics; must not throw. */
  observer?: WeChatObserver;
}

/**
 * One attempt at one endpoint. `errcode` is undefined when WeChat answered without an error,
 * else WeChat's errcode as a decimal string, `network` when no answer came (timeout,
 * connection refused or reset), `http_5xx` for a server error, `invalid_answer` for anything
 * else WeChat should never send (not JSON, an odd HTTP status).
 */
export interface WeChatAttempt {
  endpoint: string;
  seconds: number;
  errcode: string | undefined;
}
export type WeChatObserver = (attempt: WeChatAttempt) => void;

type Body = Record<string, unknown>;
type Params = Array<[string, string]>;

// A sign-in is waiting on us: a long back-off is worse than failing and letting the user retry.
const MAX_RETRY_DELAY_MS = 2000;
// WeChat's answers are a few hundred bytes; anything far larger is not WeChat answering.
const MAX_ANSWER_BYTES = 64 * 1024;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
};
// An empty unionid must not look like an identity: two accounts would merge on ''.
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class WeChatClient {
  private readonly apiOrigin: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly observer: WeChatObserver | undefined;

  constructor(options: WeChatClientOptions) {
    this.apiOrigin = options.apiOrigin.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 2));
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? 200);
    this.observer = options.observer;
  }

  /**
   * `spendOnce`: WeChat's answer is final, even "busy": a code WeChat answered for may be spent
   * already, and sending it again would only earn 40163 (the token exchange, where the app
   * asks again with a new code). Without it a busy answer is retried, as the browser sign-in
   * has always done.
   */
  async exchangeCode(app: WeChatApp, code: string, options: { spendOnce?: boolean } = {}): Promise<WeChatOAuthToken> {
    const endpoint = '/sns/oauth2/access_token';
    const params: Params = [
      ['appid', app.appId],
      ['secret', app.appSecret],
      ['code', code],
      ['grant_type', 'authorization_code'],
    ];
    return toToken(endpoint, await this.call(endpoint, params, [app.appSecret, code], options.spendOnce));
  }

  /**
   * A mini-program's `wx.login` code (`/sns/jscode2session`): the openid, and the unionid when
   * the mini-program is bound to an Open Platform account. The answer's `session_key` is
   * dropped here: nothing of ours needs it, and it never leaves this function. Never retried
   * after WeChat answered (see exchangeCode).
   * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
   */
  async jscode2session(app: WeChatApp, code: string): Promise<WeChatMiniSession> {
    const endpoint = '/sns/jscode2session';
    const params: Params = [
      ['appid', app.appId],
      ['secret', app.appSecret],
      ['js_code', code],
      ['grant_type', 'authorization_code'],
    ];
    const body = await this.call(endpoint, params, [app.appSecret, code], true);
    if (!str(body.openid)) throw WeChatError.unexpected(endpoint, 'answer lacks openid');
    return { openid: str(body.openid), unionid: optStr(body.unionid) };
  }

  async refreshToken(app: WeChatApp, refreshToken: string): Promise<WeChatOAuthToken> {
    const endpoint = '/sns/oauth2/refresh_token';
    // WeChat documents this call without the secret: never send it where it is not needed.
    const params: Params = [
      ['appid', app.appId],
      ['grant_type', 'refresh_token'],
      ['refresh_token', refreshToken],
    ];
    return toToken(endpoint, await this.call(endpoint, params, [app.appSecret, refreshToken]));
  }

  async userInfo(accessToken: string, openid: string, lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN'): Promise<WeChatUserInfo> {
    const endpoint = '/sns/userinfo';
    const body = await this.call(
      endpoint,
      [
        ['access_token', accessToken],
        ['openid', openid],
        ['lang', lang],
      ],
      [accessToken],
    );
    if (!str(body.openid)) throw WeChatError.unexpected(endpoint, 'answer lacks openid');
    // Since 2021-10 sex/province/city/country come back blank: keep them, with neutral defaults.
    return {
      openid: str(body.openid),
      nickname: str(body.nickname),
      sex: num(body.sex),
      province: str(body.province),
      city: str(body.city),
      country: str(body.country),
      headimgurl: str(body.headimgurl),
      privilege: Array.isArray(body.privilege) ? body.privilege.filter((p): p is string => typeof p === 'string') : [],
      unionid: optStr(body.unionid),
    };
  }

  /**
   * One call with a bounded back-off; only busy/unavailable failures are tried again, and with
   * `spendOnce` only when no answer came at all.
   */
  private async call(endpoint: string, params: Params, secrets: string[], spendOnce = false): Promise<Body> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(endpoint, params, secrets);
      } catch (error) {
        if (!(error instanceof WeChatError) || !error.retryable || attempt >= this.maxRetries) throw error;
        if (spendOnce && error.kind !== 'unavailable') throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS)));
      }
    }
  }

  /** One attempt, reported to the observer however it ends. */
  private async once(endpoint: string, params: Params, secrets: string[]): Promise<Body> {
    const started = performance.now();
    const outcome: { errcode: string | undefined } = { errcode: 'network' };
    try {
      const body = await this.attempt(endpoint, params, secrets, outcome);
      outcome.errcode = undefined;
      return body;
    } finally {
      this.report({ endpoint, seconds: (performance.now() - started) / 1000, errcode: outcome.errcode });
    }
  }

  private report(attempt: WeChatAttempt): void {
    try {
      this.observer?.(attempt);
    } catch {
      // Bookkeeping must never break a sign-in.
    }
  }

  /** `outcome.errcode` says how far the attempt got, for the observer: see WeChatAttempt. */
  private async attempt(endpoint: string, params: Params, secrets: string[], outcome: { errcode: string | undefined }): Promise<Body> {
    let statusCode: number;
    let text: string;
    try {
      // The documented parameter order is kept. WeChat labels its JSON text/plain: parsed here.
      // No redirect is followed, and nothing is resent: our own loop decides, so a single-use
      // code is never sent twice blindly.
      const answer = await get(new URL(`${this.apiOrigin}${endpoint}?${new URLSearchParams(params).toString()}`), {
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
      statusCode = answer.status;
      text = answer.body.toString('utf8');
    } catch (error) {
      if (error instanceof GetFailed && error.code === 'TOO_LARGE') throw WeChatError.unexpected(endpoint, 'answer too large');
      // A short code such as ETIMEDOUT or ECONNRESET; never the URL, which holds the secret.
      throw WeChatError.unavailable(endpoint, error instanceof GetFailed ? error.code : 'network error');
    }
    outcome.errcode = statusCode >= 500 ? 'http_5xx' : 'invalid_answer';
    if (statusCode >= 500) throw WeChatError.unavailable(endpoint, `HTTP ${statusCode}`);

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      if (statusCode < 200 || statusCode >= 300) throw WeChatError.unexpected(endpoint, `HTTP ${statusCode}`);
      throw WeChatError.unavailable(endpoint, 'unparseable body');
    }
    const answer = body as Body;
    const errcode = answer.errcode === undefined || answer.errcode === null ? 0 : Number(answer.errcode);
    if (!Number.isInteger(errcode)) throw WeChatError.unexpected(endpoint, 'malformed errcode');
    if (errcode !== 0) {
      outcome.errcode = String(errcode);
      throw WeChatError.fromErrcode(endpoint, errcode, redact(str(answer.errmsg), secrets));
    }
    if (statusCode < 200 || statusCode >= 300) throw WeChatError.unexpected(endpoint, `HTTP ${statusCode}`);
    return answer;
  }
}

function toToken(endpoint: string, body: Body): WeChatOAuthToken {
  for (const field of ['access_token', 'refresh_token', 'openid']) {
    if (!str(body[field])) throw WeChatError.unexpected(endpoint, `answer lacks ${field}`);
  }
  return {
    accessToken: str(body.access_token),
    expiresIn: num(body.expires_in) || 7200, // the documented lifetime if WeChat leaves it out
    refreshToken: str(body.refresh_token),
    openid: str(body.openid),
    scope: str(body.scope),
    unionid: optStr(body.unionid),
    isSnapshotUser: num(body.is_snapshotuser) === 1,
  };
}

/** errmsg is WeChat's free text: make sure it cannot echo a credential into our logs. */
function redact(errmsg: string, secrets: string[]): string {
  let out = errmsg;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out.slice(0, 200);
}
