import { randomBytes, randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { rawRows } from '../db/executor.js';

const TABLE = 'phone_sign_ins';

/** How long the QR code's link may be scanned: short, so a link sent to someone else is stale. */
export const SCAN_WINDOW_MS = 2 * 60_000;
/** After the scan: the phone's way through WeChat and its answer (a WeChat code lives 5 minutes). */
export const CONFIRM_WINDOW_MS = 5 * 60_000;

/**
 * waiting: shown on the computer, not scanned; scanned: opened on a phone, which is at WeChat;
 * confirming: the phone signed in and is asked; allowed, denied: its answer (denied also when
 * the account turned out to be blocked).
 */
export type PhoneStatus = 'waiting' | 'scanned' | 'confirming' | 'allowed' | 'denied';

export interface PhoneLink {
  token: string;
  uid: string;
  matchCode: string;
  status: PhoneStatus;
  accountId: string | undefined;
  desktopBrowser: string;
  createdAt: number;
  expiresAt: number;
}

interface Row {
  token: string;
  uid: string;
  match_code: string;
  status: PhoneStatus;
  account_id: string | null;
  desktop_browser: string;
  created_at: string | number;
  expires_at: string | number;
}

const toLink = (row: Row | undefined): PhoneLink | undefined =>
  row && {
    token: row.token,
    uid: row.uid,
    matchCode: row.match_code,
    status: row.status,
    accountId: row.account_id ?? undefined,
    desktopBrowser: row.desktop_browser,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };

/**
 * The links of desktop sign-ins confirmed on a phone: one per interaction, in the database so
 * that the computer's polling and the phone's steps may land on any instance. Every step moves
 * the link forward from one status to the next in one statement, so a link is scanned once,
 * answered once, and taken by the computer once.
 */
export class PhoneLinks {
  constructor(private readonly db: Knex) {}

  /** A new link for the interaction `uid` (replacing any earlier one), waiting to be scanned. */
  async issue(uid: string, desktopBrowser: string, now = Date.now()): Promise<PhoneLink> {
    const row = {
      token: randomBytes(16).toString('hex'),
      uid,
      match_code: String(randomInt(10, 100)),
      status: 'waiting' as const,
      account_id: null,
      desktop_browser: desktopBrowser.slice(0, 120),
      created_at: now,
      expires_at: now + SCAN_WINDOW_MS,
    };
    await this.db(TABLE).insert(row).onConflict('uid').merge();
    return toLink(row)!;
  }

  /** The interaction's link as it stands (the computer's polling). */
  async ofInteraction(uid: string): Promise<PhoneLink | undefined> {
    return toLink(await this.db(TABLE).first().where({ uid }));
  }

  /** The link the phone holds, if it is this interaction's. */
  async find(uid: string, token: string): Promise<PhoneLink | undefined> {
    return toLink(await this.db(TABLE).first().where({ uid, token }));
  }

  /** The phone opened the link: once, within the scan window; it now has the confirm window. */
  async scan(uid: string, token: string, now = Date.now()): Promise<PhoneLink | undefined> {
    return this.move(uid, token, ['waiting'], { status: 'scanned', expires_at: now + CONFIRM_WINDOW_MS }, now);
  }

  /** The phone signed in through WeChat as `accountId`, and is asked to confirm. */
  async signedIn(uid: string, token: string, accountId: string, now = Date.now()): Promise<PhoneLink | undefined> {
    return this.move(uid, token, ['scanned'], { status: 'confirming', account_id: accountId }, now);
  }

  /** The phone's answer; `denied` also ends a sign-in whose account is blocked. */
  async answer(uid: string, token: string, status: 'allowed' | 'denied', now = Date.now()): Promise<PhoneLink | undefined> {
    return this.move(uid, token, status === 'allowed' ? ['confirming'] : ['scanned', 'confirming'], { status }, now);
  }

  /** The computer takes the phone's answer: once (the link is gone after). */
  async take(uid: string): Promise<PhoneLink | undefined> {
    const answer = await this.db.raw(`delete from ${TABLE} where uid = ? and status in ('allowed', 'denied') returning *`, [uid]);
    return toLink(rawRows<Row>(answer)[0]);
  }

  /** Deletes links past their time, a bounded batch at a time. */
  async deleteExpired(batchSize = 1000, now = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = this.db(TABLE).select('token').where('expires_at', '<=', now).limit(batchSize);
      const deleted = await this.db(TABLE).whereIn('token', expired).del();
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  private async move(
    uid: string,
    token: string,
    from: PhoneStatus[],
    to: { status: PhoneStatus; expires_at?: number; account_id?: string },
    now: number,
  ): Promise<PhoneLink | undefined> {
    const sets = Object.keys(to).map((column) => `${column} = ?`);
    const answer = await this.db.raw(
      `update ${TABLE} set ${sets.join(', ')} where uid = ? and token = ? and status in (${from.map(() => '?').join(', ')}) and expires_at > ? returning *`,
      [...Object.values(to), uid, token, ...from, now],
    );
    return toLink(rawRows<Row>(answer)[0]);
  }
}

/** "Chrome on Windows": which browser asks, in words a person recognises on the phone. */
export function describeBrowser(userAgent: string): string {
  const browser =
    [
      [/Edg\//, 'Edge'],
      [/OPR\/|Opera/, 'Opera'],
      [/Firefox\//, 'Firefox'],
      [/Chrome\//, 'Chrome'],
      [/Safari\//, 'Safari'],
    ].find(([pattern]) => (pattern as RegExp).test(userAgent))?.[1] ?? 'a browser';
  const system =
    [
      [/Windows/, 'Windows'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/CrOS/, 'ChromeOS'],
      [/Android/, 'Android'],
      [/iPhone|iPad/, 'iOS'],
      [/Linux/, 'Linux'],
    ].find(([pattern]) => (pattern as RegExp).test(userAgent))?.[1] ?? undefined;
  return system ? `${browser as string} · ${system as string}` : (browser as string);
}
