import { expect } from '@jest/globals';
import type { Browser, Page } from './browser.js';
import type { RelyingParty } from './relying-party.js';

export interface WeChatRedirect {
  url: URL;
  state: string;
  callback: string;
}

/** Reads WeChat's authorize link the provider sent the browser to. */
export function parseWeChatRedirect(location: string | undefined): WeChatRedirect {
  expect(location).toBeDefined();
  const url = new URL(location!);
  const state = url.searchParams.get('state')!;
  const callback = url.searchParams.get('redirect_uri')!;
  return { url, state, callback };
}

/** From the app's authorization request to the provider's login page. */
export async function openLoginPage(browser: Browser, issuer: string, authUrl: string): Promise<{ page: Page; uid: string }> {
  const page = await browser.follow(authUrl, issuer);
  const uid = new URL(page.url).pathname.split('/')[2]!;
  return { page, uid };
}

/** Clicks "微信登录" and returns where WeChat would send the browser back. */
export async function startWeChat(browser: Browser, issuer: string, uid: string): Promise<WeChatRedirect> {
  const page = await browser.get(`${issuer}/interaction/${uid}/wechat`);
  expect(page.status).toBe(302);
  return parseWeChatRedirect(page.location);
}

/** WeChat's redirect back with `code`; follows the provider until it leaves for the app. */
export async function returnFromWeChat(
  browser: Browser,
  issuer: string,
  redirect: WeChatRedirect,
  code: string | undefined,
): Promise<Page> {
  const url = new URL(redirect.callback);
  if (code !== undefined) url.searchParams.set('code', code);
  url.searchParams.set('state', redirect.state);
  return browser.follow(url.href, issuer);
}

/** Allows on the consent page when the provider shows one; returns the page after it. */
export async function throughConsent(browser: Browser, issuer: string, page: Page): Promise<Page> {
  if (page.status !== 200 || !page.url.includes('/interaction/')) return page;
  const consentUid = new URL(page.url).pathname.split('/')[2]!;
  const confirmed = await browser.post(`${issuer}/interaction/${consentUid}/confirm`);
  return browser.after(confirmed, issuer);
}

/**
 * Someone signed in on a browser that is signed in as another account: oidc-provider ends the
 * old session first, with a page that posts itself (as a browser running its script would);
 * returns the page after it.
 */
export async function throughAccountSwitch(browser: Browser, issuer: string, page: Page): Promise<Page> {
  const action = /<form method="post" action="([^"]+\/session\/end\/confirm)"/.exec(page.body)?.[1];
  if (page.status !== 200 || !action) return page;
  const fields = Object.fromEntries(
    [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
  );
  const ended = await browser.post(action, fields);
  return browser.follow(ended.location!, issuer);
}

/** A whole sign-in for a person at WeChat, consenting when asked, ending with the app's tokens. */
export async function signIn(
  browser: Browser,
  issuer: string,
  rp: RelyingParty,
  code: string,
  scope = 'openid profile',
  extra: Record<string, string> = {},
) {
  const { url, checks } = await rp.start(scope, extra);
  const { uid } = await openLoginPage(browser, issuer, url);
  const redirect = await startWeChat(browser, issuer, uid);
  const returned = await throughAccountSwitch(browser, issuer, await returnFromWeChat(browser, issuer, redirect, code));
  const page = await throughConsent(browser, issuer, returned);
  if (!page.location?.startsWith(rp.redirectUri)) {
    throw new Error(`expected a redirect to the app, got ${page.status} at ${page.url}: ${page.body.slice(0, 800)}`);
  }
  const tokens = await rp.finish(page.location, checks);
  return { tokens, claims: tokens.claims()!, uid };
}

/** Fills in the sandbox's authorize form the way a person would. */
export function sandboxForm(authorizeUrl: string, choice: Record<string, string>): Record<string, string> {
  const params = new URL(authorizeUrl).searchParams;
  const form: Record<string, string> = {};
  for (const name of ['appid', 'redirect_uri', 'response_type', 'scope', 'state']) form[name] = params.get(name)!;
  return { ...form, ...choice };
}
