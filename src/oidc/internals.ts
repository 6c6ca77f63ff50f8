import Keygrip from 'keygrip';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults, KoaContextWithOIDC } from 'oidc-provider';
import { interactionPath } from './routes.js';

/**
 * The only module that relies on oidc-provider behaviour outside its documented API. Each
 * assumption names the upstream source it was read from, at the version pinned in
 * package.json, and test/oidc-internals.contract.test.ts checks each against the installed
 * library: an upgrade that breaks one fails that test instead of quietly turning a feature
 * off. Upgrading oidc-provider: docs/architecture.md, "Upgrading oidc-provider".
 */
// Upstream sources below are at https://github.com/panva/node-oidc-provider/blob/v9.13.3/ (UPSTREAM).

/** oidc-provider's redirect to the login step, as it left the response. */
export interface LoginStepRedirect {
  uid: string;
  /** The prompt the step is for: `login` or `consent`. */
  prompt: string;
  clientId: string;
}

/**
 * The response oidc-provider prepared is its redirect to the login step: after storing a new
 * interaction it keeps it as `ctx.oidc.entities.Interaction` and answers 303 to the
 * interaction's URL (`UPSTREAM/lib/actions/authorization/interactions.js`, the end of
 * `interactions`). Anything else, undefined.
 */
export function loginStepRedirect(ctx: Context): LoginStepRedirect | undefined {
  if (ctx.status !== 303) return undefined;
  const interaction = (ctx as KoaContextWithOIDC).oidc?.entities.Interaction;
  if (!interaction || ctx.response.get('Location') !== interactionPath(interaction.uid)) return undefined;
  return { uid: interaction.uid, prompt: interaction.prompt.name, clientId: String(interaction.params.client_id) };
}

const signers = new WeakMap<Provider, Keygrip>();

/**
 * The cookies that let a request resume the sign-in `uid` at `/auth/:uid`. oidc-provider
 * resumes only for the browser holding its resume cookie, whose value is the interaction's
 * uid, read signed (`UPSTREAM/lib/actions/authorization/resume.js`, `resumeAction`). The
 * cookies library signs a cookie with a second one, `<name>.sig`, holding the Keygrip
 * signature of `<name>=<value>` (https://github.com/pillarjs/cookies), with the keys the
 * provider, a Koa application, was given as `cookies.keys` (`provider.keys`, set in the
 * constructor, `UPSTREAM/lib/provider.js`). Returned as `Cookie` header entries.
 */
export function resumeCookies(provider: Provider, uid: string): string[] {
  let signer = signers.get(provider);
  if (!signer) {
    signer = new Keygrip(provider.keys as string[]);
    signers.set(provider, signer);
  }
  const cookie = `${provider.cookieName('resume')}=${uid}`;
  return [cookie, `${provider.cookieName('resume')}.sig=${signer.sign(cookie)}`];
}

/** An interaction as `provider.interactionDetails()` loads it. */
export type LoadedInteraction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * What `provider.interactionResult(req, res, result)` does (UPSTREAM/lib/provider.js,
 * `interactionResult`), on the interaction this request already loaded: interactionResult
 * would read it and its session again, two statements in the middle of every sign-in. The
 * result is merged with the last submission (a login kept when consent follows) unless it is
 * an error, stored for the rest of the interaction's lifetime, and the browser goes on to
 * `returnTo`.
 */
export async function saveInteractionResult(interaction: LoadedInteraction, result: InteractionResults): Promise<string> {
  interaction.result = 'error' in result ? result : { ...interaction.lastSubmission, ...result };
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

/**
 * Sends an OpenID Connect Back-Channel Logout token for (`sub`, `sid`) to one client, outside
 * a sign-out (which oidc-provider handles itself): when an account is blocked or merged away.
 * It is the client model's `backchannelLogout(sub, sid)`, the method oidc-provider's sign-out
 * calls for each app of the session (UPSTREAM/lib/actions/end_session.js, `endSession`;
 * UPSTREAM/lib/models/client.js, `backchannelLogout`): it signs a logout token with the
 * provider's keys (`sid` included when the client requires it) and POSTs it, rejecting on
 * any answer but 200 or 204. False, with nothing sent, when the client is not registered
 * (any more) or has no `backchannel_logout_uri`.
 */
export async function sendLogoutToken(provider: Provider, clientId: string, sub: string, sid?: string): Promise<boolean> {
  const client = (await provider.Client.find(clientId)) as
    | (InstanceType<Provider['Client']> & { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid?: string): Promise<void> })
    | undefined;
  if (!client?.backchannelLogoutUri) return false;
  await client.backchannelLogout(sub, sid);
  return true;
}

/**
 * Signs an ID token for a grant of our own (the WeChat code exchange), as oidc-provider's own
 * grants do (UPSTREAM/lib/helpers/grant_common.js, `issueIdToken`): the account's claims,
 * kept to those of the granted scopes by the token's `scope` property, which
 * `IdToken#payload` reads (UPSTREAM/lib/models/id_token.js) and the typings leave out.
 * `extra`: claims set as they are (`auth_time`).
 */
export async function signIdToken(
  ctx: KoaContextWithOIDC,
  claims: Record<string, unknown>,
  scope: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const token = new ctx.oidc.provider.IdToken({ ...claims }, { ctx });
  (token as unknown as { scope: string }).scope = scope;
  for (const [key, value] of Object.entries(extra)) token.set(key, value);
  return token.issue({ use: 'idtoken' });
}

/**
 * Whether the answer prepared is oidc-provider's refusal of a grant type the client is not
 * registered for: `invalid_request` with this description (UPSTREAM/lib/actions/token.js, the
 * `grantTypeAllowed` check), where RFC 6749 §5.2 says `unauthorized_client`.
 */
export function isGrantTypeRefusal(ctx: Context): boolean {
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  return (
    ctx.status === 400 &&
    body?.error === 'invalid_request' &&
    body.error_description === 'requested grant type is not allowed for this client'
  );
}
