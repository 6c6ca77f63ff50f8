import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { detectBrowser } from '../wechat/user-agent.js';
import { rememberSigninApp } from '../oidc/expired-page.js';
import type { OfficialAccountRedirect } from './wechat-redirect.js';
import type { ModelWriter } from './states.js';

/**
 * Inside WeChat the login step has nothing to show: `GET /interaction/:uid` would only send
 * the browser on to WeChat's authorization. So where oidc-provider answers `/auth` (or
 * `/auth/:uid`) with a redirect to the login step, the browser is sent to WeChat at once,
 * with the state issued here: one redirect fewer on a phone's network, one request fewer for
 * the provider.
 *
 * oidc-provider has already set the interaction cookie for the path of the page it meant
 * (https://github.com/panva/node-oidc-provider/blob/main/lib/actions/authorization/interactions.js):
 * /interaction/:uid, under which WeChat's callback lies, so the callback finds it as before.
 * Anything else (consent, other browsers, WeChat Work) goes to the login step as usual.
 */
export function straightToWeChat(redirect: OfficialAccountRedirect): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 303) return;
    const interaction = (ctx as KoaContextWithOIDC).oidc?.entities.Interaction;
    if (!interaction || interaction.prompt.name !== 'login') return;
    if (ctx.response.get('Location') !== `/interaction/${interaction.uid}`) return;
    if (detectBrowser(ctx.get('User-Agent')) !== 'wechat') return;
    rememberSigninApp(ctx, interaction.uid, String(interaction.params.client_id));
    // The state goes with the interaction's own write, which is sent before this answer.
    const heldWith = (ctx as KoaContextWithOIDC).oidc.provider.Interaction.adapter as Partial<ModelWriter>;
    const url = await redirect.url(interaction.uid, { heldWith: heldWith.holdAlong ? heldWith as ModelWriter : undefined });
    // As the login step answers: WeChat is reached by a plain 302, the way it documents.
    ctx.status = 302;
    ctx.redirect(url);
  };
}
