import { beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { Browser } from './helpers/browser.js';
import type { RunningProvider } from './helpers/provider.js';
import { useTwoInstances, via } from './helpers/setup.js';
import { relyingParty, type RelyingParty } from './helpers/relying-party.js';
import { newWeChatUser, wechatNewUser } from './helpers/wechat.js';
import { signIn } from './helpers/sign-in.js';
import { DEFAULT_PUBLISH_FOR_MS, DEFAULT_RETIRE_AFTER_MS, rotateSigningKey } from '../src/oidc/keys.js';

// Two instances on one database, as in production: a rotation made once (by the operator's
// command) reaches both, and what either signed verifies against either's JWKS.
const pair = useTwoInstances();
let rp: RelyingParty;
beforeAll(async () => {
  rp = await relyingParty(pair.a.issuer);
});

async function jwks(p: RunningProvider): Promise<JSONWebKeySet> {
  return (await fetch(via(p, pair.a.issuer, `${pair.a.issuer}/jwks`))).json() as Promise<JSONWebKeySet>;
}

const kids = (set: JSONWebKeySet) => set.keys.map((key) => key.kid);
const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;

/** Verifies an ID token as a relying party would: against the JWKS published now by `p`. */
async function verifies(p: RunningProvider, idToken: string): Promise<boolean> {
  try {
    // The token may be minutes "old" in the schedule below, never past its own exp.
    await jwtVerify(idToken, createLocalJWKSet(await jwks(p)), { issuer: pair.a.issuer, audience: rp.clientId });
    return true;
  } catch {
    return false;
  }
}

/** A refresh token grant sent to instance `p`; returns the new ID token. */
async function refreshOn(p: RunningProvider, refreshToken: string): Promise<{ idToken: string; refreshToken: string }> {
  rp.config[oidc.customFetch] = (url, options) => fetch(via(p, pair.a.issuer, url), options);
  const tokens = await oidc.refreshTokenGrant(rp.config, refreshToken);
  return { idToken: tokens.id_token!, refreshToken: tokens.refresh_token! };
}

/** The logout confirmation page for an app that sends `idToken` as its hint, on instance `p`. */
async function logoutWithHint(p: RunningProvider, idToken: string) {
  const url = oidc.buildEndSessionUrl(rp.config, { id_token_hint: idToken, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out' });
  return new Browser().get(via(p, pair.a.issuer, url.href));
}

describe('rotating the signing key', () => {
  it('publishes the new key first, signs with it after the publication period, and verifies earlier ID tokens until they have expired', async () => {
    const { a, b } = pair;
    const user = newWeChatUser();
    wechatNewUser('rotate-1', user);
    const { tokens } = await signIn(new Browser(), a.issuer, rp, 'rotate-1', 'openid profile offline_access');
    const before = tokens.id_token!;
    const oldKid = kidOf(before);
    expect(kids(await jwks(a))).toEqual([oldKid]);

    // The operator rotates once; each instance picks it up at its next reload.
    const now = Date.now();
    const rotation = await rotateSigningKey(a.idp.db, {
      publishFor: DEFAULT_PUBLISH_FOR_MS,
      retireAfter: DEFAULT_RETIRE_AFTER_MS,
      now,
    });
    expect(await a.idp.reloadKeys(now)).toBe(true);
    expect(await b.idp.reloadKeys(now)).toBe(true);
    expect(await b.idp.reloadKeys(now)).toBe(false); // nothing new the second time

    // Published: both keys in JWKS on both instances, the old one still signs.
    for (const p of [a, b]) expect(new Set(kids(await jwks(p)))).toEqual(new Set([oldKid, rotation.kid]));
    let refreshed = await refreshOn(b, tokens.refresh_token!);
    expect(kidOf(refreshed.idToken)).toBe(oldKid);

    // Signing: past the publication period the new key signs, on both instances.
    const signing = now + DEFAULT_PUBLISH_FOR_MS + 1000;
    await Promise.all([a.idp.reloadKeys(signing), b.idp.reloadKeys(signing)]);
    refreshed = await refreshOn(a, refreshed.refreshToken);
    const after = refreshed.idToken;
    expect(kidOf(after)).toBe(rotation.kid);
    refreshed = await refreshOn(b, refreshed.refreshToken);
    expect(kidOf(refreshed.idToken)).toBe(rotation.kid);
    // The ID token signed before the rotation still verifies, on either instance's JWKS.
    expect(await verifies(a, before)).toBe(true);
    expect(await verifies(b, before)).toBe(true);
    expect(await verifies(b, after)).toBe(true);
    // … including as the hint of a logout, which apps send with the ID token of the sign-in.
    expect((await logoutWithHint(b, before)).status).toBe(200);

    // Retired: once every token the old key signed has expired, it leaves JWKS.
    const retired = signing + DEFAULT_RETIRE_AFTER_MS;
    await Promise.all([a.idp.reloadKeys(retired), b.idp.reloadKeys(retired)]);
    expect(kids(await jwks(b))).toEqual([rotation.kid]);
    expect(await verifies(b, before)).toBe(false);
    expect(await verifies(b, after)).toBe(true);
    expect((await logoutWithHint(b, before)).status).toBe(400);
    expect((await logoutWithHint(b, after)).status).toBe(200);
  });
});
