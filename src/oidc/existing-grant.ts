import type { KoaContextWithOIDC, Grant } from 'oidc-provider';

/**
 * Consent is skipped for first-party clients (`skip_consent: true`): they are granted the
 * scopes and claims they ask for, and never more. Everyone else keeps the grant the person
 * gave on the consent page.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#loadexistinggrant
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const { client, session } = oidc;
  if (!client || !session) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (client.metadata().skip_consent !== true || !session.accountId) return existing;

  const scopes = [...oidc.requestParamScopes];
  const claims = [...(oidc.requestParamClaims ?? [])];
  // A returning person's grant usually holds all of it already: no write then.
  if (existing && covers(existing.getOIDCScope(), scopes) && covers(existing.getOIDCClaims().join(' '), claims)) return existing;

  const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

function covers(granted: string, requested: string[]): boolean {
  const have = new Set(granted.split(' '));
  return requested.every((item) => have.has(item));
}
