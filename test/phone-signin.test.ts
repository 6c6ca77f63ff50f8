import { describe, expect, it } from '@jest/globals';
import { Browser, WECHAT_UA, type Page } from './helpers/browser.js';
import { useProvider, useTwoInstances, via } from './helpers/setup.js';
import { openLoginPage, parseWeChatRedirect, returnFromWeChat } from './helpers/sign-in.js';
import { relyingParty } from './helpers/relying-party.js';
import { newWeChatUser, wechatExchange, wechatNewUser, type FakeWeChatUser } from './helpers/wechat.js';
import type { RunningProvider } from './helpers/provider.js';

// A computer without a website app signs in through the Official Account: its page shows a QR
// code of a short-lived link; WeChat on the phone opens it, authorizes, and asks "sign in on a
// computer?"; the computer's page, asking how far the phone got, then continues the sign-in
// in its own browser. Two browsers here: the desktop one, and a phone with WeChat's user agent.
const t = useProvider();
const WECHAT_WORK_UA = `${WECHAT_UA} wxwork/4.1.0`;

interface DesktopSignIn {
  desktop: Browser;
  uid: string;
  page: Page;
  phoneLink: string;
  matchCode: string;
  checks: Awaited<ReturnType<typeof t.rp.start>>['checks'];
}

/** A computer opens the app's sign-in: our page with the QR code's link and its match code. */
async function desktopSignIn(op: RunningProvider = t.op, rp = t.rp): Promise<DesktopSignIn> {
  const desktop = new Browser();
  const { url, checks } = await rp.start();
  const { page, uid } = await openLoginPage(desktop, op.issuer, url);
  expect(page.status).toBe(200);
  // The link the QR code holds (the test reads the payload as a camera would; the sandbox's
  // page prints it too). The QR itself is an inline SVG.
  expect(page.body).toMatch(/<svg[^>]*>.*<path/s);
  const matchCode = /<strong class="match-code">(\d+)<\/strong>/.exec(page.body)![1]!;
  const link = await op.idp.db('phone_sign_ins').first('token').where({ uid });
  return { desktop, uid, page, phoneLink: `${op.issuer}/interaction/${uid}/phone/${link.token}`, matchCode, checks };
}

/** The link of the interaction's current QR code (each showing of the page makes a new one). */
const linkOf = async (uid: string, op: RunningProvider = t.op) =>
  `${op.issuer}/interaction/${uid}/phone/${(await op.idp.db('phone_sign_ins').first('token').where({ uid })).token}`;

const status = async (browser: Browser, issuer: string, uid: string) => {
  const answer = await browser.get(`${issuer}/interaction/${uid}/phone/status`);
  return answer.status === 200 ? (JSON.parse(answer.body) as { status: string }).status : `http ${answer.status}`;
};

let people = 0;
/** The phone scans, goes through WeChat as `user`, and lands on the question. */
async function phoneSignsIn(signin: DesktopSignIn, user: FakeWeChatUser, issuer = t.op.issuer, phone = new Browser(WECHAT_UA)) {
  people += 1;
  const code = `phone-${people}`;
  wechatNewUser(code, user);
  const scanned = await phone.get(signin.phoneLink);
  expect(scanned.status).toBe(302);
  const question = await returnFromWeChat(phone, issuer, parseWeChatRedirect(scanned.location), code);
  return { phone, question };
}

const confirmHref = (question: Page) => /<form method="post" action="([^"]+)"/.exec(question.body)![1]!;

describe('signing in on a computer with the Official Account, confirmed on the phone', () => {
  it('shows the same match code on both, and continues on the computer once the phone allows', async () => {
    const signin = await desktopSignIn();
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('waiting');
    const user = newWeChatUser({ nickname: '扫码的人 📱' });
    const { phone, question } = await phoneSignsIn(signin, user);
    expect(question.status).toBe(200);
    expect(question.body).toContain('Web &lt;App&gt; 🍜'); // which app, escaped
    expect(question.body).toContain(`<strong class="match-code">${signin.matchCode}</strong>`);
    expect(question.body).toContain('Chrome · Windows');
    expect(question.body).toContain('扫码的人 📱');
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('scanned');

    const allowed = await phone.post(`${t.op.issuer}${confirmHref(question)}`, { action: 'allow' });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('data-message="phone_allowed"');
    // The phone never gets the app's code: nothing it was sent leads to the app.
    expect(allowed.location).toBeUndefined();

    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('done');
    const back = await signin.desktop.follow(`${t.op.issuer}/interaction/${signin.uid}/phone/continue`, t.op.issuer);
    const consentUid = new URL(back.url).pathname.split('/')[2]!;
    const done = await signin.desktop.after(await signin.desktop.post(`${t.op.issuer}/interaction/${consentUid}/confirm`), t.op.issuer);
    expect(done.location).toContain(t.rp.redirectUri);
    const tokens = await t.rp.finish(done.location!, signin.checks);
    expect(tokens.claims()).toMatchObject({ openid: user.openid, nickname: '扫码的人 📱' });

    // Taken once: the link is gone.
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).not.toBe('done');
  });

  it('asks in English on a phone that prefers it, and tells an English computer the same way', async () => {
    const signin = await desktopSignIn();
    expect(signin.page.body).toContain('用手机微信扫描二维码');
    const english = await signin.desktop.get(`${t.op.issuer}/interaction/${signin.uid}?lang=en`);
    expect(english.body).toContain('Scan the QR code with WeChat on your phone');
    const matchCode = /<strong class="match-code">(\d+)<\/strong>/.exec(english.body)![1]!;
    const { question } = await phoneSignsIn(
      { ...signin, matchCode, phoneLink: await linkOf(signin.uid) },
      newWeChatUser(),
      t.op.issuer,
      new Browser(WECHAT_UA, 'en'),
    );
    expect(question.body).toContain('Sign in to Web &lt;App&gt; 🍜 on a computer?');
    expect(question.body).toContain(`<strong class="match-code">${matchCode}</strong>`);
  });

  it('ends the computer sign-in with access_denied when the phone denies', async () => {
    const signin = await desktopSignIn();
    const { phone, question } = await phoneSignsIn(signin, newWeChatUser());
    const denied = await phone.post(`${t.op.issuer}${confirmHref(question)}`, { action: 'deny' });
    expect(denied.body).toContain('data-message="phone_denied"');
    const back = await signin.desktop.follow(`${t.op.issuer}/interaction/${signin.uid}/phone/continue`, t.op.issuer);
    expect(new URL(back.location!).searchParams.get('error')).toBe('access_denied');
  });

  it('refuses a link scanned a second time, on any phone, with a readable page', async () => {
    const signin = await desktopSignIn();
    await phoneSignsIn(signin, newWeChatUser());
    const again = await new Browser(WECHAT_UA).get(signin.phoneLink);
    expect(again.status).toBe(400);
    expect(again.body).toContain('data-message="phone_link_invalid"');
  });

  it('refuses a link after its two minutes, and the computer is told to get a new code', async () => {
    const signin = await desktopSignIn();
    await t.op.idp
      .db('phone_sign_ins')
      .where({ uid: signin.uid })
      .update({ expires_at: Date.now() - 1 });
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('expired');
    const late = await new Browser(WECHAT_UA).get(signin.phoneLink);
    expect(late.body).toContain('data-message="phone_link_invalid"');
    // A new showing of the page is a new link, with a new code.
    const fresh = await signin.desktop.get(`${t.op.issuer}/interaction/${signin.uid}`);
    expect(fresh.status).toBe(200);
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('waiting');
  });

  it('tells how far the phone got only to the browser holding the sign-in', async () => {
    const signin = await desktopSignIn();
    const stranger = new Browser();
    expect(await status(stranger, t.op.issuer, signin.uid)).toBe('http 400');
    const taken = await stranger.get(`${t.op.issuer}/interaction/${signin.uid}/phone/continue`);
    expect(taken.status).toBe(400);
  });

  it('lets only the phone that signed in give the answer', async () => {
    const signin = await desktopSignIn();
    const { question } = await phoneSignsIn(signin, newWeChatUser());
    const other = await new Browser(WECHAT_UA).post(`${t.op.issuer}${confirmHref(question)}`, { action: 'allow' });
    expect(other.body).toContain('data-message="phone_link_invalid"');
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('scanned');
  });

  it('sends a phone outside WeChat, or in WeChat Work, to a page saying to scan with WeChat', async () => {
    const signin = await desktopSignIn();
    for (const ua of [undefined, WECHAT_WORK_UA]) {
      const page = await new Browser(ua).get(signin.phoneLink);
      expect(page.body).toContain('data-message="phone_open_in_wechat"');
    }
    // Still waiting for a real scan.
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('waiting');
  });

  it('registers nobody for a snapshot user, and offers to authorize again', async () => {
    const signin = await desktopSignIn();
    const phone = new Browser(WECHAT_UA);
    const scanned = await phone.get(signin.phoneLink);
    wechatExchange('phone-snapshot', newWeChatUser(), { is_snapshotuser: 1 });
    const page = await returnFromWeChat(phone, t.op.issuer, parseWeChatRedirect(scanned.location), 'phone-snapshot');
    expect(page.body).toContain('data-message="snapshot_user"');
    expect(page.body).toContain(`/interaction/${signin.uid}/phone/`);
    expect(await status(signin.desktop, t.op.issuer, signin.uid)).toBe('scanned');
  });

  it('ends the computer sign-in with access_denied for a blocked account', async () => {
    const user = newWeChatUser();
    const first = await desktopSignIn();
    await phoneSignsIn(first, user);
    const accountId = (await t.op.idp.db('phone_sign_ins').first('account_id').where({ uid: first.uid })).account_id as string;
    await t.op.idp.db('accounts').where({ id: accountId }).update({ disabled: true });

    const signin = await desktopSignIn();
    const phone = new Browser(WECHAT_UA);
    const scanned = await phone.get(signin.phoneLink);
    wechatExchange('phone-blocked', user);
    const page = await returnFromWeChat(phone, t.op.issuer, parseWeChatRedirect(scanned.location), 'phone-blocked');
    expect(page.body).toContain('data-message="account_blocked"');
    const back = await signin.desktop.follow(`${t.op.issuer}/interaction/${signin.uid}/phone/continue`, t.op.issuer);
    expect(new URL(back.location!).searchParams.get('error')).toBe('access_denied');
  });
});

describe('over two instances', () => {
  const pair = useTwoInstances();

  it('lets the computer ask one instance while the phone lands on the other', async () => {
    const rp = await relyingParty(pair.a.issuer);
    const signin = await desktopSignIn(pair.a, rp);
    const user = newWeChatUser();
    const phoneLink = via(pair.b, pair.a.issuer, signin.phoneLink);
    const phone = new Browser(WECHAT_UA);
    wechatNewUser('two-instances', user);
    const scanned = await phone.get(phoneLink);
    const redirect = parseWeChatRedirect(scanned.location);
    const question = await returnFromWeChat(
      phone,
      pair.a.issuer,
      { ...redirect, callback: via(pair.b, pair.a.issuer, redirect.callback) },
      'two-instances',
    );
    const allowed = await phone.post(via(pair.b, pair.a.issuer, `${pair.a.issuer}${confirmHref(question)}`), { action: 'allow' });
    expect(allowed.body).toContain('data-message="phone_allowed"');
    expect(await status(signin.desktop, pair.a.issuer, signin.uid)).toBe('done');
  });
});

describe('with silent sign-in on', () => {
  const silent = useProvider({ WECHAT_SILENT_LOGIN: 'true' });

  it('asks WeChat silently first, and for the profile only when the person is not known', async () => {
    const rp = await relyingParty(silent.op.issuer);
    const signin = await desktopSignIn(silent.op, rp);
    const phone = new Browser(WECHAT_UA);
    const scanned = await phone.get(signin.phoneLink);
    const first = parseWeChatRedirect(scanned.location);
    expect(first.url.searchParams.get('scope')).toBe('snsapi_base');
    // Not known here: on to the profile, back to the same link's callback.
    const user = newWeChatUser();
    wechatExchange('silent-unknown', user);
    const again = await phone.get(`${first.callback}?code=silent-unknown&state=${first.state}`);
    const second = parseWeChatRedirect(again.location);
    expect(second.url.searchParams.get('scope')).toBe('snsapi_userinfo');
    expect(second.callback).toBe(first.callback);
    wechatNewUser('silent-profile', user);
    const question = await returnFromWeChat(phone, silent.op.issuer, second, 'silent-profile');
    expect(question.body).toContain(`<strong class="match-code">${signin.matchCode}</strong>`);
  });
});
