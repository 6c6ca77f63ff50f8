import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { renderMessage, type PageAction } from '../pages/message-page.js';

const HOME: PageAction = { href: '/', zh: '返回首页', en: 'Go to the home page' };

/**
 * Where a person whose sign-in is gone (old tab, back button, cookie lost inside WeChat) can
 * start again: the app's own entry point (`initiate_login_uri`, else `client_uri`) when the
 * interaction still names the app, else our home page. An app's redirect_uri is not one of
 * them: without a fresh authorization request it would only show the app an error.
 */
export async function restartAction(provider: Provider, from: { uid?: string; clientId?: string }): Promise<PageAction> {
  try {
    let clientId = from.clientId;
    if (!clientId && from.uid) {
      const interaction = await provider.Interaction.find(from.uid);
      const stored = interaction?.params?.client_id;
      clientId = typeof stored === 'string' ? stored : undefined;
    }
    const app = clientId ? await provider.Client.find(clientId) : undefined;
    const href = app?.initiateLoginUri ?? app?.clientUri;
    if (!app || !href) return HOME;
    const name = app.clientName ?? app.clientId;
    return { href, zh: `返回 ${name} 重新登录`, en: `Back to ${name} to sign in again`, wechat: true };
  } catch {
    // Looking the app up is a courtesy: an expired page must show even when it fails.
    return HOME;
  }
}

/** The "this sign-in has expired" page, with the way back to the app. */
export async function renderExpired(ctx: Context, provider: Provider, from: { uid?: string; clientId?: string }): Promise<void> {
  await renderMessage(ctx, 'interaction_expired', { action: await restartAction(provider, from) });
}
