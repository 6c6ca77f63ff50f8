import { createHash, randomBytes } from 'node:crypto';
import { Browser, WECHAT_UA } from './http.js';
import { BENCH_REDIRECT_URI } from './client.js';

export interface Target {
  issuer: string;
  clientSecret: string;
}

/** A person of the benchmark: a browser, and once known to WeChat, its sandbox user id. */
export interface Person {
  browser: Browser;
  sandboxUserId?: string;
  refreshToken?: string;
  accessToken?: string;
}

export const newPerson = (): Person => ({ browser: new Browser(WECHAT_UA) });

const b64url = (buffer: Buffer) => buffer.toString('base64url');

function basic(target: Target): string {
  return `Basic ${Buffer.from(`bench:${target.clientSecret}`).toString('base64')}`;
}

async function expectStatus(response: Response, statuses: number[], step: string): Promise<void> {
  if (!statuses.includes(response.status)) {
    const text = (await response.text()).slice(0, 300);
    throw new Error(`${step}: HTTP ${response.status} ${text}`);
  }
}

/** The form WeChat's authorize page posts: the five parameters of its URL plus the choice. */
function wechatChoice(authorizeUrl: URL, person: Person, n: number): Record<string, string> {
  const form: Record<string, string> = {};
  for (const key of ['appid', 'redirect_uri', 'response_type', 'scope', 'state']) form[key] = authorizeUrl.searchParams.get(key) ?? '';
  if (person.sandboxUserId) return { ...form, action: 'allow', user: person.sandboxUserId };
  return { ...form, action: 'create', nickname: `压测用户${n}🐼` };
}

/**
 * One whole sign-in, as the app and the person's WeChat browser make it: the app's
 * authorization request, the provider's redirect to WeChat, WeChat's page and consent, the
 * callback (code exchange, userinfo, account lookup or registration), back to the app with a
 * code, the token request, and userinfo. Returns how many HTTP requests it sent the provider
 * (WeChat's excluded): the provider decides how many redirects a sign-in takes.
 */
export async function signIn(target: Target, person: Person, n: number): Promise<number> {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const auth = new URL(`${target.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: 'bench',
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: BENCH_REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: b64url(randomBytes(12)),
    nonce: b64url(randomBytes(12)),
    // A returning person still has the provider's session cookie in their jar; without this
    // the provider would answer at once and the sign-in would never reach WeChat.
    prompt: 'login',
  }).toString();

  let url = auth.href;
  let code: string | undefined;
  let requests = 2; // token and userinfo, after the redirects
  for (let hop = 0; hop < 12 && !code; hop += 1) {
    if (url.startsWith(`${target.issuer}/`)) requests += 1;
    const response = await person.browser.request(url);
    await expectStatus(response, [302, 303], `GET ${new URL(url).pathname}`);
    await response.arrayBuffer();
    const next = new URL(response.headers.get('location')!, url);
    if (next.href.startsWith(BENCH_REDIRECT_URI)) {
      code = next.searchParams.get('code') ?? undefined;
      if (!code) throw new Error(`sign-in refused: ${next.search}`);
    } else if (next.pathname.endsWith('/connect/oauth2/authorize')) {
      // WeChat's authorize page, then the person's tap on "allow".
      const page = await person.browser.request(next.href);
      await expectStatus(page, [200], 'WeChat authorize page');
      await page.arrayBuffer();
      const allowed = await person.browser.request(`${next.origin}${next.pathname}`, {
        method: 'POST',
        form: wechatChoice(next, person, n),
      });
      await expectStatus(allowed, [302, 303], 'WeChat allow');
      await allowed.arrayBuffer();
      url = new URL(allowed.headers.get('location')!, next).href;
    } else {
      url = next.href;
    }
  }
  if (!code) throw new Error('sign-in did not come back to the app');

  const token = await fetch(`${target.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(target), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: BENCH_REDIRECT_URI, code_verifier: verifier }),
  });
  await expectStatus(token, [200], 'token');
  const tokens = (await token.json()) as { access_token: string; refresh_token?: string; id_token: string };
  person.accessToken = tokens.access_token;
  person.refreshToken = tokens.refresh_token;
  const claims = await userinfo(target, person);
  // WeChat's avatar URL names the sandbox user: the person picks that user next time.
  person.sandboxUserId ??= /\/sandbox\/avatar\/([^/]+)\//.exec(String(claims.headimgurl))?.[1];
  if (!person.sandboxUserId) throw new Error('userinfo without a sandbox avatar URL');
  return requests;
}

export async function userinfo(target: Target, person: Person): Promise<Record<string, unknown>> {
  const response = await fetch(`${target.issuer}/me`, { headers: { authorization: `Bearer ${person.accessToken}` } });
  await expectStatus(response, [200], 'userinfo');
  return response.json() as Promise<Record<string, unknown>>;
}

export async function refresh(target: Target, person: Person): Promise<void> {
  const response = await fetch(`${target.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(target), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: person.refreshToken! }),
  });
  await expectStatus(response, [200], 'refresh');
  const tokens = (await response.json()) as { access_token: string; refresh_token: string };
  person.accessToken = tokens.access_token;
  person.refreshToken = tokens.refresh_token;
}
