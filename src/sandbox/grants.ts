import { randomBytes } from 'node:crypto';

/** The Official Account's two scopes, the website app's QR login, and a mini-program's wx.login. */
export type SandboxScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login' | 'js_code';

/** Who a code or token speaks for, fixed when the person taps "allow". */
export interface SandboxSubject {
  appId: string;
  scope: SandboxScope;
  /** A snapshot user's openid, unionid and nickname are virtual (wechat.md, snapshot users). */
  snapshot: boolean;
  /** The sandbox_users id; null for a snapshot user, who must not be traced to a real one. */
  userId: string | null;
  openid: string;
  unionid: string;
  /** WeChat's risk control refuses this person (jscode2session answers 40226). */
  risky?: boolean;
}

/** The answer to redeeming a code or using a token: the subject, or WeChat's errcode. */
export type Lookup = { ok: true; subject: SandboxSubject } | { ok: false; errcode: number };

export const CODE_TTL_MS = 5 * 60_000;
export const ACCESS_TOKEN_TTL_S = 7200;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;

// Expired entries are kept a little longer so that a late caller is told "expired" (42003,
// 42001, 42002) rather than "unknown", as WeChat does; after that they are swept.
const RETAIN_AFTER_EXPIRY_MS = 10 * 60_000;
const SWEEP_EVERY_MS = 60_000;
const DEFAULT_CAP = 100_000;

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** A Map with expiry that cannot grow without bound, however many sign-ins a demo sees. */
class ExpiringMap<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private lastSweep = 0;

  constructor(private readonly cap: number) {}

  set(key: string, value: T, ttlMs: number): void {
    const now = Date.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS || this.entries.size >= this.cap) this.sweep(now);
    // Still full of live entries: forget the oldest (a Map iterates in insertion order).
    for (const oldest of this.entries.keys()) {
      if (this.entries.size < this.cap) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: now + ttlMs });
  }

  get(key: string): Entry<T> | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt + RETAIN_AFTER_EXPIRY_MS <= now) this.entries.delete(key);
    }
  }
}

const token = (bytes: number): string => randomBytes(bytes).toString('base64url');

/**
 * WeChat's codes and tokens for the sandbox, in memory: the sandbox is one process for
 * development and tests, and a restart simply means signing in again.
 */
export class SandboxGrants {
  private readonly codes: ExpiringMap<{ subject: SandboxSubject; used: boolean }>;
  private readonly accessTokens: ExpiringMap<SandboxSubject>;
  private readonly refreshTokens: ExpiringMap<SandboxSubject>;

  constructor(options: { cap?: number } = {}) {
    const cap = options.cap ?? DEFAULT_CAP;
    this.codes = new ExpiringMap(cap);
    this.accessTokens = new ExpiringMap(cap);
    this.refreshTokens = new ExpiringMap(cap);
  }

  issueCode(subject: SandboxSubject): string {
    const code = token(24); // 32 characters, about the length of WeChat's
    this.codes.set(code, { subject, used: false }, CODE_TTL_MS);
    return code;
  }

  /** Spends the code on this first attempt, whatever the outcome (WeChat does the same). */
  redeemCode(code: string, appId: string): Lookup {
    const entry = this.codes.get(code);
    if (!entry) return { ok: false, errcode: 40029 };
    if (entry.value.used) return { ok: false, errcode: 40163 };
    entry.value.used = true;
    if (entry.expiresAt <= Date.now()) return { ok: false, errcode: 42003 };
    // A code only works for the app it was issued to; WeChat calls any other "invalid code".
    if (entry.value.subject.appId !== appId) return { ok: false, errcode: 40029 };
    return { ok: true, subject: entry.value.subject };
  }

  issueTokens(subject: SandboxSubject): { accessToken: string; refreshToken: string } {
    const accessToken = this.issueAccessToken(subject);
    const refreshToken = token(48);
    this.refreshTokens.set(refreshToken, subject, REFRESH_TOKEN_TTL_MS);
    return { accessToken, refreshToken };
  }

  issueAccessToken(subject: SandboxSubject): string {
    const accessToken = token(48);
    this.accessTokens.set(accessToken, subject, ACCESS_TOKEN_TTL_S * 1000);
    return accessToken;
  }

  accessToken(accessToken: string): Lookup {
    return lookup(this.accessTokens.get(accessToken), 40001, 42001);
  }

  refreshToken(refreshToken: string, appId: string): Lookup {
    const found = lookup(this.refreshTokens.get(refreshToken), 40030, 42002);
    if (found.ok && found.subject.appId !== appId) return { ok: false, errcode: 40030 };
    return found;
  }

  /** For tests: make a code look five minutes old without waiting. */
  expireCode(code: string): void {
    const entry = this.codes.get(code);
    if (entry) entry.expiresAt = Date.now() - 1;
  }

  /** For tests: the number of codes held, to check the store stays bounded. */
  get codeCount(): number {
    return this.codes.size;
  }
}

function lookup(entry: Entry<SandboxSubject> | undefined, invalid: number, expired: number): Lookup {
  if (!entry) return { ok: false, errcode: invalid };
  if (entry.expiresAt <= Date.now()) return { ok: false, errcode: expired };
  return { ok: true, subject: entry.value };
}
