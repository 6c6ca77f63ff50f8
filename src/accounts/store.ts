import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Account, WeChatIdentity, WeChatProfile } from './types.js';
import { isSqlite } from '../db/executor.js';
import { PreparedQuery } from '../db/prepared.js';
import { registrationFor, registrationsAreSerialized, type Register } from './registration.js';

interface AccountRow {
  id: string;
  nickname: string;
  avatar_url: string;
  avatar_etag?: string | null;
  disabled: boolean | number;
  created_at: number | string;
  updated_at: number | string;
}

interface IdentityRow {
  account_id: string;
  app_id: string;
  openid: string;
  unionid: string | null;
}

const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  nickname: row.nickname,
  avatarUrl: row.avatar_url,
  ...(row.avatar_etag ? { avatarEtag: row.avatar_etag } : {}),
  disabled: Boolean(row.disabled), // SQLite answers 0/1
  createdAt: Number(row.created_at), // pg answers bigints as strings
  updatedAt: Number(row.updated_at),
});

const toIdentity = (row: IdentityRow): WeChatIdentity => ({
  accountId: row.account_id,
  appId: row.app_id,
  openid: row.openid,
  unionid: row.unionid ?? undefined,
});

/** An account as the operator commands show it. */
export interface AccountListing {
  account: Account;
  identities: WeChatIdentity[];
}

/** Operator listings: newest first; the id breaks ties between accounts made in the same millisecond. */
const NEWEST_FIRST: { column: string; order?: 'asc' | 'desc' }[] = [{ column: 'created_at', order: 'desc' }, { column: 'id' }];

/** SQLite and PostgreSQL report a unique-constraint violation differently. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** An account row with one of its identities (or none: nulls), as a left join gives them. */
type JoinedRow = AccountRow & { app_id: string | null; openid: string | null; unionid: string | null };

/** The lookups every sign-in, token and userinfo request makes, compiled once (see PreparedQuery). */
class Lookups {
  readonly withIdentities: PreparedQuery<'id'>;
  readonly forSignIn: PreparedQuery<'app_id' | 'openid'>;
  readonly byIdentity: PreparedQuery<'app_id' | 'openid'>;

  constructor(db: Knex) {
    this.withIdentities = new PreparedQuery(db, ['id'], ({ id }) =>
      db('accounts')
        .select('accounts.*', 'i.app_id', 'i.openid', 'i.unionid')
        .leftJoin('wechat_identities as i', 'i.account_id', 'accounts.id')
        .where('accounts.id', id)
        .orderBy('i.id'),
    );
    this.forSignIn = new PreparedQuery(db, ['app_id', 'openid'], ({ app_id, openid }) =>
      db('accounts')
        .first('accounts.*', 'wechat_identities.unionid as identity_unionid')
        .join('wechat_identities', 'wechat_identities.account_id', 'accounts.id')
        .where({ 'wechat_identities.app_id': app_id, 'wechat_identities.openid': openid }),
    );
    this.byIdentity = new PreparedQuery(db, ['app_id', 'openid'], ({ app_id, openid }) =>
      db('accounts')
        .first('accounts.*')
        .join('wechat_identities', 'wechat_identities.account_id', 'accounts.id')
        .where({ 'wechat_identities.app_id': app_id, 'wechat_identities.openid': openid }),
    );
  }
}

export class AccountStore {
  private readonly lookups: Lookups;

  private readonly registration: Register;

  /** No two registrations interleave (SQLite): one cannot leave a second account with the same unionid. */
  readonly registrationsAreSerialized: boolean;

  constructor(private readonly db: Knex) {
    this.lookups = new Lookups(db);
    this.registration = registrationFor(db);
    this.registrationsAreSerialized = registrationsAreSerialized(db);
  }

  async findById(id: string): Promise<Account | undefined> {
    const row: AccountRow | undefined = await this.db('accounts').first().where({ id });
    return row && toAccount(row);
  }

  /**
   * An account with its identities, in one query: oidc-provider asks for it on every token,
   * refresh and userinfo request, so one round trip instead of two counts.
   */
  async findWithIdentities(id: string): Promise<{ account: Account; identities: WeChatIdentity[] } | undefined> {
    const rows = await this.lookups.withIdentities.run<JoinedRow>({ id });
    const [first] = rows;
    if (!first) return undefined;
    const identities = rows
      .filter((row) => row.app_id !== null)
      .map((row) => toIdentity({ account_id: row.id, app_id: row.app_id!, openid: row.openid!, unionid: row.unionid }));
    return { account: toAccount(first), identities };
  }

  /**
   * The account behind (app id, openid) and that identity's stored unionid: a returning
   * sign-in compares both with what WeChat says, and writes only when something changed.
   */
  async findForSignIn(appId: string, openid: string): Promise<{ account: Account; identityUnionid: string | undefined } | undefined> {
    const [row] = await this.lookups.forSignIn.run<AccountRow & { identity_unionid: string | null }>({ app_id: appId, openid });
    return row && { account: toAccount(row), identityUnionid: row.identity_unionid ?? undefined };
  }

  async findByIdentity(appId: string, openid: string): Promise<Account | undefined> {
    const [row] = await this.lookups.byIdentity.run<AccountRow>({ app_id: appId, openid });
    return row && toAccount(row);
  }

  /**
   * Registers a person seen for the first time under this app: the identity and, unless the
   * unionid already belongs to an account, the account, all or nothing (registration.ts).
   * When two first sign-ins of one person race, the unique (app id, openid) index rejects the
   * second; nothing of it is stored and both end on the account the first one created.
   */
  async register(profile: WeChatProfile): Promise<Account> {
    try {
      const row = await this.registration<AccountRow>({
        accountId: randomBytes(16).toString('base64url'),
        nickname: profile.nickname,
        avatarUrl: profile.headimgurl,
        appId: profile.appId,
        openid: profile.openid,
        unionid: profile.unionid ?? null,
        now: Date.now(),
      });
      return toAccount(row);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.findByIdentity(profile.appId, profile.openid);
      if (!winner) throw error;
      return winner;
    }
  }

  /**
   * Records a unionid WeChat gave for an identity that had none (a mini-program bound to the
   * Open Platform since the person's last sign-in): true when it was attached, which may tie
   * the account to another (see merge.ts). The profile is left as it is.
   */
  async attachUnionid(appId: string, openid: string, unionid: string): Promise<boolean> {
    const attached = await this.db('wechat_identities')
      .where({ app_id: appId, openid })
      .whereNull('unionid')
      .update({ unionid, updated_at: Date.now() });
    return attached > 0;
  }

  /**
   * Keeps the stored nickname, avatar and unionid in step with what WeChat just said. Returns
   * true when this identity had no unionid before and now has one (it may tie the account to
   * another: see merge.ts).
   */
  async updateProfile(accountId: string, profile: WeChatProfile): Promise<boolean> {
    const now = Date.now();
    return this.db.transaction(async (trx) => {
      await trx('accounts')
        .where({ id: accountId })
        .andWhere((q) => q.whereNot('nickname', profile.nickname).orWhereNot('avatar_url', profile.headimgurl))
        .update({ nickname: profile.nickname, avatar_url: profile.headimgurl, updated_at: now });
      if (!profile.unionid) return false;
      const attached = await trx('wechat_identities')
        .where({ app_id: profile.appId, openid: profile.openid })
        .whereNull('unionid')
        .update({ unionid: profile.unionid, updated_at: now });
      return attached > 0;
    });
  }

  /** Accounts for the operator, newest first, each with its WeChat identities. */
  async list(options: { limit: number; blockedOnly?: boolean }): Promise<AccountListing[]> {
    const query = this.db('accounts').select('*').orderBy(NEWEST_FIRST).limit(options.limit);
    if (options.blockedOnly) query.where({ disabled: true });
    return this.withTheirIdentities(await query);
  }

  /**
   * Accounts an operator looks for with one piece of text: a WeChat openid or unionid, or a
   * `sub`, exactly; or part of the nickname, in any case. Newest first, like list.
   */
  async find(text: string, options: { limit: number }): Promise<AccountListing[]> {
    // `!` escapes the text's own LIKE wildcards, so "50%" matches only "50%". SQLite's LIKE
    // ignores case (ASCII letters; Chinese has none), PostgreSQL needs ILIKE for the same.
    const pattern = `%${text.replace(/[!%_]/g, '!$&')}%`;
    const like = isSqlite(this.db) ? 'like' : 'ilike';
    // No index serves openid alone (sign-ins look up app id and openid together): a scan is
    // fine for an operator's occasional search.
    const rows: AccountRow[] = await this.db('accounts')
      .select('*')
      .where('id', text)
      .orWhereIn('id', this.db('wechat_identities').select('account_id').where('openid', text).orWhere('unionid', text))
      .orWhereRaw(`nickname ${like} ? escape '!'`, [pattern])
      .orderBy(NEWEST_FIRST)
      .limit(options.limit);
    return this.withTheirIdentities(rows);
  }

  /** The identities of a page of accounts, in one query. */
  private async withTheirIdentities(rows: AccountRow[]): Promise<AccountListing[]> {
    if (rows.length === 0) return [];
    const identities: IdentityRow[] = await this.db('wechat_identities')
      .select('account_id', 'app_id', 'openid', 'unionid')
      .whereIn(
        'account_id',
        rows.map((row) => row.id),
      )
      .orderBy('id');
    return rows.map((row) => ({
      account: toAccount(row),
      identities: identities.filter((identity) => identity.account_id === row.id).map(toIdentity),
    }));
  }

  async count(): Promise<number> {
    const [row] = await this.db('accounts').count<{ n: number | string }[]>({ n: '*' });
    return Number(row?.n ?? 0);
  }
}
