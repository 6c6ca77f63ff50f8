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

  const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
  const claims = [...(oidc.requestParamClaims ?? [])];
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}
