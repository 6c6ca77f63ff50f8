import Router from '@koa/router';
import type { Context } from 'koa';
import { messages, type MessageKey } from './messages.js';
import { languageOf } from './language.js';
import { returnPathFor } from './views.js';

/** A button under a message; labels in both languages, the page shows its own. */
export interface PageAction {
  href: string;
  zh: string;
  en: string;
  wechat?: boolean;
}

const RETRY_PATH = /^\/interaction\/[\w-]+$/;

function isMessageKey(value: string): value is MessageKey {
  return Object.hasOwn(messages, value);
}

/**
 * Renders one of the catalogued messages as a page in the person's language, with the
 * matching HTTP status. Its language switch shows the same message again: through this very
 * URL when loading it again is harmless, else through /message/<key> (a WeChat callback must
 * not be replayed just to change language).
 */
export async function renderMessage(ctx: Context, key: MessageKey, extra: { action?: PageAction; detail?: string } = {}): Promise<void> {
  const message = messages[key];
  const lang = languageOf(ctx);
  const { title, text } = lang === 'en' ? message.en : message.zh;
  const retry = extra.action && RETRY_PATH.test(extra.action.href) ? `?retry=${encodeURIComponent(extra.action.href)}` : '';
  ctx.status = message.status;
  ctx.set('Cache-Control', 'no-store');
  ctx.state.returnTo = returnPathFor(ctx) ?? `/message/${key}${retry}`;
  await ctx.render('message', {
    title,
    text,
    detail: extra.detail,
    action: extra.action && {
      href: extra.action.href,
      label: lang === 'en' ? extra.action.en : extra.action.zh,
      wechat: extra.action.wechat,
    },
    // `key` lets the stylesheet and tests tell pages apart without reading their texts.
    messageKey: key,
  });
}

export const retryAction = (href: string): PageAction => ({ href, zh: '重新登录', en: 'Try again', wechat: true });

/**
 * Where "try again" leads after a failure on `path`: the start of the same sign-in for the
 * login step (it is still alive in the database), nothing elsewhere.
 */
export function retryActionFor(path: string): PageAction | undefined {
  const uid = /^\/interaction\/([\w-]+)/.exec(path)?.[1];
  return uid ? { href: `/interaction/${uid}`, zh: '重试', en: 'Try again' } : undefined;
}

/**
 * `/message/<key>`: a message page shown again, in the language just chosen, for pages whose
 * own URL cannot be loaded twice. Only catalogue texts and a retry link into the login step.
 */
export function messageRouter(): Router {
  const router = new Router();
  router.get('/message/:key', async (ctx) => {
    const key = ctx.params.key ?? '';
    if (!isMessageKey(key)) return renderMessage(ctx, 'not_found');
    const retry = typeof ctx.query.retry === 'string' && RETRY_PATH.test(ctx.query.retry) ? ctx.query.retry : undefined;
    await renderMessage(ctx, key, { action: retry ? retryAction(retry) : undefined });
  });
  return router;
}
