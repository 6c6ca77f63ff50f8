import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Knex } from 'knex';

/** A pretend WeChat person. Nicknames are arbitrary Unicode, as WeChat's are. */
export interface SandboxUser {
  id: string;
  nickname: string;
  unionid: string;
  createdAt: number;
}

interface Row {
  id: string;
  nickname: string;
  unionid: string;
  created_at: number | string;
}

// WeChat accepts long nicknames (32+ characters); a cap only keeps the table and pages sane.
const MAX_NICKNAME_CHARS = 64;

const toUser = (row: Row): SandboxUser => ({
  id: row.id,
  nickname: row.nickname,
  unionid: row.unionid,
  createdAt: Number(row.created_at),
});

export class SandboxUsers {
  constructor(private readonly db: Knex) {}

  /** Newest first: the person testing usually wants the user they just made. */
  async list(limit = 20): Promise<SandboxUser[]> {
    const rows = await this.db<Row>('sandbox_users')
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    return rows.map(toUser);
  }

  async create(nickname: string): Promise<SandboxUser> {
    const user: SandboxUser = {
      id: randomBytes(16).toString('base64url'),
      nickname: cleanNickname(nickname) || randomNickname(),
      unionid: randomWeChatId(),
      createdAt: Date.now(),
    };
    await this.db<Row>('sandbox_users').insert({
      id: user.id,
      nickname: user.nickname,
      unionid: user.unionid,
      created_at: user.createdAt,
    });
    return user;
  }

  async find(id: string): Promise<SandboxUser | undefined> {
    const row = await this.db<Row>('sandbox_users').where({ id }).first();
    return row ? toUser(row) : undefined;
  }
}

/** 'o' + 27 base64url characters: the shape of WeChat's openids and unionids. */
export function randomWeChatId(): string {
  return 'o' + randomBytes(21).toString('base64url').slice(0, 27);
}

/**
 * WeChat gives one person a different openid in every app, and always the same one in the same
 * app: derived, so it survives restarts without being stored.
 */
export function openidFor(appId: string, userId: string): string {
  return 'o' + createHash('sha256').update(`${appId}:${userId}`).digest('base64url').slice(0, 27);
}

// WeChat hands snapshot users a grey default avatar; this id can never be a user's (22 chars).
export const SNAPSHOT_AVATAR_ID = 'snapshot';

/** Like WeChat's headimgurl, the last path segment is the size (132 px). */
export function avatarUrlFor(issuer: string, userId: string): string {
  return `${issuer}/sandbox/avatar/${encodeURIComponent(userId)}/132`;
}

/** Keeps every printable character (emoji, CJK, RTL); drops control characters only. */
export function cleanNickname(input: string): string {
  const printable = input.replace(/[\p{Cc}\p{Cs}]/gu, '').trim();
  return Array.from(printable).slice(0, MAX_NICKNAME_CHARS).join('');
}

const NAMES = ['小明', '阿花', '大熊', '胖虎', '静香', '小龙女', '阿强', '豆豆', '老王', '糖糖'];
const EMOJI = ['🐼', '🌸', '🍜', '🚀', '🐉', '🍉', '🎈', '🦊', '☕', '🌈'];

/** A nickname that mixes CJK and a 4-byte emoji, so every test run exercises both. */
export function randomNickname(): string {
  return `${NAMES[randomInt(NAMES.length)]}${EMOJI[randomInt(EMOJI.length)]}`;
}
