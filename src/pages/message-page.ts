import type { Context } from 'koa';
import { messages, type MessageKey } from './messages.js';

export interface PageAction {
  href: string;
  zh: string;
  en: string;
  wechat?: boolean;
}

/** Renders one of the catalogued messages as a page, with the matching HTTP status. */
export async function renderMessage(
  ctx: Context,
  key: MessageKey,
  extra: { action?: PageAction; detail?: string } = {},
): Promise<void> {
  const message = messages[key];
  ctx.status = message.status;
  ctx.set('Cache-Control', 'no-store');
  await ctx.render('message', { ...message, ...extra });
}

export const retryAction = (href: string): PageAction => ({ href, zh: '重新登录', en: 'Try again', wechat: true });
