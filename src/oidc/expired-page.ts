import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { renderMessage, type PageAction } from '../pages/message-page.js';

const HOME: PageAction = { href: '/', zh: '返回首页', en: 'Go to the home page' };

/**
 * Which app each of this browser's recent sign-ins was for, `[uid, client_id]` pairs, newest
 * first. oidc-provider deletes an interaction once it has finished, so an old tab or the
 * back button after a sign-in finds nothing left to name the app by; this cookie still does.
 * Unsigned: it only picks which registered app's own link the page offers.
 */
const RECENT_COOKIE = 'recent_signins';
const RECENT_KEEP = 3;
const RECENT_MAX_AGE_MS = 24 * 60 * 60 * 1000;

function recentSignins(ctx: Context): [string, string][] {
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(ctx.cookies.get(RECENT_COOKIE, { signed: false }) ?? '[]'));
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (pair): pair is [string, string] =>
        Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string',
    );
  } catch {
    return [];
  }
}

/** Notes that the sign-in `uid` is for the app `clientId` (called when its page is shown). */
export function rememberSigninApp(ctx: Context, uid: string, clientId: string): void {
  const recent = recentSignins(ctx).filter(([known]) => known !== uid);
  const value = encodeURIComponent(JSON.stringify([[uid, clientId], ...recent].slice(0, RECENT_KEEP)));
  ctx.cookies.set(RECENT_COOKIE, value, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: RECENT_MAX_AGE_MS,
    signed: false,
    overwrite: true,
  });
}

/**
 * Where a person whose sign-in is gone (old tab, back button, cookie lost inside WeChat) can
 * start again: the app's own entry point (`initiate_login_uri`, else `client_uri`) when the
 * interaction, or this browser's note of it, still names the app, else our home page. An
 * app's redirect_uri is not one of them: without a fresh authorization request it would only
 * show the app an error.
 */
export async function restartAction(ctx: Context, provider: Provider, from: { uid?: string; clientId?: string }): Promise<PageAction> {
  try {
    let clientId = from.clientId;
    if (!clientId && from.uid) {
      const interaction = await provider.Interaction.find(from.uid);
      const stored = interaction?.params?.client_id;
      clientId = typeof stored === 'string' ? stored : undefined;
    }
    if (!clientId && from.uid) clientId = recentSignins(ctx).find(([uid]) => uid === from.uid)?.[1];
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
  await renderMessage(ctx, 'interaction_expired', { action: await restartAction(ctx, provider, from) });
}
