import type { Context } from 'koa';
import { WeChatError, type WeChatErrorKind } from '../wechat/errors.js';
import { renderMessage } from '../pages/message-page.js';
import type { MessageKey } from '../pages/messages.js';
import type { Logger } from '../log.js';

const PAGE_BY_KIND: Record<WeChatErrorKind, MessageKey> = {
  code_invalid: 'wechat_code_invalid',
  token_expired: 'wechat_code_invalid',
  refresh_invalid: 'wechat_code_invalid',
  openid_invalid: 'wechat_code_invalid',
  config: 'wechat_config',
  scope: 'wechat_scope',
  risky_user: 'wechat_failed',
  busy: 'wechat_unavailable',
  unavailable: 'wechat_unavailable',
  unknown: 'wechat_failed',
};

/**
 * A sign-in that WeChat broke: the person sees a short page with a way to try again (the
 * interaction is still alive), the operator sees the errcode in the log. Anything that is not
 * a WeChat error is a bug of ours and goes on to the generic error handler.
 */
export async function handleWeChatFailure(
  ctx: Context,
  error: unknown,
  where: { uid: string; retry: string; logger: Logger; onSignin?: (outcome: 'wechat_error') => void },
): Promise<void> {
  if (!(error instanceof WeChatError)) throw error;
  const level = error.kind === 'config' ? 'error' : 'warn';
  where.logger[level](
    { event: 'signin', outcome: 'wechat_error', uid: where.uid, errcode: error.errcode, kind: error.kind, endpoint: error.endpoint },
    error.message,
  );
  where.onSignin?.('wechat_error');
  const page = PAGE_BY_KIND[error.kind];
  await renderMessage(ctx, page, {
    action: page === 'wechat_config' ? undefined : { href: where.retry, zh: '重新登录', en: 'Try again', wechat: true },
  });
}
