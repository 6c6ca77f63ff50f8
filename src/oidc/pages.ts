import type { KoaContextWithOIDC, ErrorOut } from 'oidc-provider';
import { renderMessage } from '../pages/message-page.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { renderExpired } from './expired-page.js';

/**
 * oidc-provider's own pages, in our layout. An error the relying party caused (bad client,
 * bad redirect_uri…) is shown with its OAuth error code, so the app's developer can act;
 * anything unexpected is a plain "something went wrong" with nothing internal in it.
 */
export async function renderError(ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): Promise<void> {
  if (error.name === 'SessionNotFound') {
    // Resuming a sign-in whose cookie or interaction is gone (`/auth/:uid`): the same page as
    // our own routes show, leading back to the app.
    const uid = /^\/auth\/([\w-]+)$/.exec(ctx.path)?.[1];
    const provider = (ctx.oidc as KoaContextWithOIDC['oidc'] | undefined)?.provider;
    if (provider) await renderExpired(ctx, provider, { uid, clientId: ctx.oidc.client?.clientId });
    else await renderMessage(ctx, 'interaction_expired');
    return;
  }
  if (isDatabaseUnavailable(error)) {
    await renderMessage(ctx, 'service_unavailable');
    return;
  }
  if (out.error === 'server_error') {
    await renderMessage(ctx, 'server_error');
    ctx.status = 500;
    return;
  }
  const status = ctx.status;
  // An app that is not in the clients file: its developer (or an old bookmark) is to blame.
  await renderMessage(ctx, out.error === 'invalid_client' ? 'unknown_client' : 'request_invalid', {
    detail: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
  });
  // Keep the status oidc-provider chose (400, 401, …) rather than the catalogue's.
  if (status >= 400) ctx.status = status;
}

export async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  await ctx.render('logout', {
    form,
    host: ctx.host,
    clientName: ctx.oidc.client?.clientName,
  });
}

export async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  await ctx.render('logged-out', { clientName: ctx.oidc.client?.clientName });
}
