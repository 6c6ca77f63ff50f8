import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { executorFor } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { SqliteExecutor } from '../db/sqlite-executor.js';
import { get, GetFailed, type GetAnswer } from '../http/get.js';

/** The largest avatar kept: WeChat's 132×132 JPEGs weigh a few KB. */
export const AVATAR_MAX_BYTES = 256 * 1024;
const TIMEOUT_MS = 5000;
/**
 * The image types kept, judged by the bytes, never by the answer's Content-Type: raster
 * images only. An SVG is a document (forms, links, scripts) served from the provider's own
 * origin; anything else is not an avatar.
 */
export function imageTypeOf(bytes: Buffer): 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp' | undefined {
  if (bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'image/jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  const head = bytes.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}
// The last path segment of a WeChat avatar URL is its size; 0 means 640×640 (wechat.md).
const SIZES = new Set(['0', '46', '64', '96', '132']);

export interface StoredAvatar {
  contentType: string;
  bytes: Buffer;
  etag: string;
}

/**
 * Whether avatars may be downloaded from `url`: WeChat's own hosts over https on the default
 * port, or exactly one of `origins` (the sandbox, a gateway set up as WeChat). The whole
 * origin counts: a host name alone would let another port or plain http through.
 */
export function isAvatarOrigin(url: URL, origins: ReadonlySet<string>): boolean {
  if (isWeChatAvatarHost(url.hostname)) return url.protocol === 'https:' && url.port === '';
  return origins.has(url.origin);
}

/** WeChat's own avatar hosts (thirdwx.qlogo.cn, wx.qlogo.cn). */
export function isWeChatAvatarHost(host: string): boolean {
  const lower = host.toLowerCase();
  return lower === 'qlogo.cn' || lower.endsWith('.qlogo.cn');
}

/**
 * The URL to download: the 132×132 size (enough for any avatar slot, a fraction of the 640
 * one) and https for WeChat's hosts, which answer the same path on https.
 */
export function avatarDownloadUrl(source: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (isWeChatAvatarHost(url.hostname)) url.protocol = 'https:';
  const segments = url.pathname.split('/');
  if (SIZES.has(segments.at(-1) ?? '')) {
    segments[segments.length - 1] = '132';
    url.pathname = segments.join('/');
  }
  return url;
}

class AvatarRefused extends Error {}

interface AvatarRow {
  account_id: string;
  content_type: string;
  bytes: Buffer;
  etag: string;
  source_url: string;
  updated_at: number;
}

/**
 * Storing a downloaded avatar: the image, and the account's etag that names it, together or
 * not at all. Half the sign-ins of a growing service are first ones and each brings an avatar:
 * on PostgreSQL one statement (four round trips as a transaction), on SQLite two prepared
 * statements in a transaction.
 */
function avatarKeeper(db: Knex): (row: AvatarRow) => Promise<void> {
  const executor = executorFor(db);
  if (executor instanceof SqliteExecutor) {
    const image = new PreparedQuery(db, ['account_id', 'content_type', 'bytes', 'etag', 'source_url', 'updated_at'], (row) =>
      db('avatars').insert(row).onConflict('account_id').merge(),
    );
    const etag = new PreparedQuery(db, ['id', 'avatar_etag'], ({ id, avatar_etag }) =>
      db('accounts').where({ id }).update({ avatar_etag }),
    );
    return (row) =>
      executor.transaction((run) => {
        run(image.sql, image.bindings(row));
        run(etag.sql, etag.bindings({ id: row.account_id, avatar_etag: row.etag }));
      });
  }
  return async (row) => {
    const values = [row.account_id, row.content_type, row.bytes, row.etag, row.source_url, row.updated_at];
    await executor.write(POSTGRES_KEEP_AVATAR, values, 'avatars_keep');
  };
}

// $1 account id, $2 content type, $3 bytes, $4 etag, $5 source URL, $6 now.
const POSTGRES_KEEP_AVATAR = `
with kept as (
  insert into avatars (account_id, content_type, bytes, etag, source_url, updated_at) values ($1, $2, $3, $4, $5, $6)
  on conflict (account_id) do update set content_type = excluded.content_type, bytes = excluded.bytes,
    etag = excluded.etag, source_url = excluded.source_url, updated_at = excluded.updated_at
  returning account_id
)
update accounts set avatar_etag = $4 where id = (select account_id from kept)`;

/**
 * Each account's avatar, downloaded once per new WeChat avatar URL and served by us (see
 * avatar-route.ts). Downloads run beside the sign-in, never in its way: a failure is logged
 * and the last stored avatar stays.
 */
export class AvatarStore {
  private readonly inFlight = new Set<Promise<void>>();

  private readonly keep: (row: AvatarRow) => Promise<void>;

  private readonly storedSource: PreparedQuery<'account_id'>;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    /** The origins set up as WeChat (sandbox, gateway), from which avatars may be fetched besides WeChat's hosts. */
    private readonly origins: ReadonlySet<string> = new Set(),
    private readonly maxBytes = AVATAR_MAX_BYTES,
  ) {
    this.keep = avatarKeeper(db);
    this.storedSource = new PreparedQuery(db, ['account_id'], ({ account_id }) => db('avatars').first('source_url').where({ account_id }));
  }

  /**
   * Starts keeping `source` as this account's avatar, unless it is the one already kept.
   * `hasStored`: whether the account has an avatar stored at all (its etag is set with it); a
   * new account has none, and then there is nothing to compare with.
   */
  refreshInBackground(accountId: string, source: string, hasStored = true): void {
    const task = this.refresh(accountId, source, hasStored).catch((error: unknown) => {
      this.logger.warn({ event: 'avatar_download_failed', accountId, reason: (error as Error).message }, 'kept the stored avatar');
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** Resolves once every download started so far has ended (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async refresh(accountId: string, source: string, hasStored = true): Promise<void> {
    if (!source) return; // WeChat sends an empty headimgurl for "no avatar"
    // The address is checked before anything is read or fetched: it costs nothing.
    const url = avatarDownloadUrl(source);
    if (!url || !isAvatarOrigin(url, this.origins)) throw new AvatarRefused('not an avatar address we fetch from');
    if (hasStored) {
      const [stored] = await this.storedSource.run<{ source_url: string }>({ account_id: accountId });
      if (stored?.source_url === source) return;
    }
    const { contentType, bytes } = await this.download(url);
    const etag = createHash('sha256').update(bytes).digest('hex');
    await this.keep({ account_id: accountId, content_type: contentType, bytes, etag, source_url: source, updated_at: Date.now() });
  }

  async find(accountId: string): Promise<StoredAvatar | undefined> {
    const row: { content_type: string; bytes: Buffer | Uint8Array; etag: string } | undefined = await this.db('avatars')
      .first('content_type', 'bytes', 'etag')
      .where({ account_id: accountId });
    return row && { contentType: row.content_type, bytes: Buffer.from(row.bytes), etag: row.etag };
  }

  /** The image, if it is one and small enough; the body is read only up to the limit. */
  private async download(url: URL): Promise<{ contentType: string; bytes: Buffer }> {
    let answer: GetAnswer;
    try {
      answer = await get(url, { timeoutMs: TIMEOUT_MS, maxBytes: this.maxBytes });
    } catch (error) {
      const code = error instanceof GetFailed ? error.code : 'network error';
      throw new AvatarRefused(code === 'TOO_LARGE' ? `too large (over ${this.maxBytes} bytes)` : `download failed (${code})`);
    }
    if (answer.status !== 200) throw new AvatarRefused(`HTTP ${answer.status}`);
    const contentType = imageTypeOf(answer.body);
    if (!contentType) throw new AvatarRefused('not a JPEG, PNG, GIF or WebP image');
    return { contentType, bytes: answer.body };
  }
}
