// Typed errors for WeChat's server-to-server API. The messages are built only from the
// endpoint path, WeChat's errcode/errmsg and a short reason: never from got's own message or
// options, which carry the full URL and therefore the AppSecret, the code or a token.

export type WeChatErrorKind =
  | 'code_invalid'
  | 'token_expired'
  | 'refresh_invalid'
  | 'config'
  | 'openid_invalid'
  | 'scope'
  | 'risky_user'
  | 'busy'
  | 'unavailable'
  | 'unknown';

const KIND_BY_ERRCODE: ReadonlyMap<number, WeChatErrorKind> = new Map<number, WeChatErrorKind>([
  [40029, 'code_invalid'],
  [40163, 'code_invalid'],
  [42003, 'code_invalid'],
  [41008, 'code_invalid'],
  [42001, 'token_expired'],
  [42002, 'refresh_invalid'],
  [40030, 'refresh_invalid'],
  [40001, 'config'],
  [40125, 'config'],
  [40013, 'config'],
  [41002, 'config'],
  [41004, 'config'],
  [40003, 'openid_invalid'],
  [48001, 'scope'],
  [50001, 'scope'],
  // jscode2session: WeChat's risk control refuses this person (高风险等级用户).
  [40226, 'risky_user'],
  [-1, 'busy'],
  [45011, 'busy'],
]);

export function kindOfErrcode(errcode: number): WeChatErrorKind {
  return KIND_BY_ERRCODE.get(errcode) ?? 'unknown';
}

/** Only a busy WeChat or a failed transport is worth another try; a code is single-use. */
export function isRetryableKind(kind: WeChatErrorKind): boolean {
  return kind === 'busy' || kind === 'unavailable';
}

export class WeChatError extends Error {
  readonly kind: WeChatErrorKind;
  readonly errcode: number | undefined;
  /** The API path only, e.g. `/sns/oauth2/access_token`. */
  readonly endpoint: string;
  readonly retryable: boolean;

  constructor(kind: WeChatErrorKind, endpoint: string, message: string, errcode?: number) {
    super(message);
    this.name = 'WeChatError';
    this.kind = kind;
    this.errcode = errcode;
    this.endpoint = endpoint;
    this.retryable = isRetryableKind(kind);
  }

  /** A 200 answer whose body carries a non-zero errcode. */
  static fromErrcode(endpoint: string, errcode: number, errmsg: string): WeChatError {
    return new WeChatError(kindOfErrcode(errcode), endpoint, `WeChat ${endpoint} failed: errcode ${errcode} (${errmsg})`, errcode);
  }

  /** Network error, timeout, HTTP 5xx or a body that is not JSON. */
  static unavailable(endpoint: string, reason: string): WeChatError {
    return new WeChatError('unavailable', endpoint, `WeChat ${endpoint} unavailable: ${reason}`);
  }

  /** An answer WeChat should never give (missing fields, odd HTTP status). */
  static unexpected(endpoint: string, reason: string): WeChatError {
    return new WeChatError('unknown', endpoint, `WeChat ${endpoint} failed: ${reason}`);
  }
}
