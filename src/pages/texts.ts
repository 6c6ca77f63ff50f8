import type { Language } from './language.js';

/**
 * Every fixed text of the page templates, one complete set per language, so that a page is
 * written in one language from top to bottom. Texts with a name in them are functions; the
 * templates escape what they return (`<%= %>`), names included. Messages about failures live
 * in messages.ts instead.
 */
export interface PageTexts {
  /** The switch on every page leads to the other language, named in that language. */
  otherLanguage: { code: Language; label: string };
  sandboxBanner: string;
  footer: string;
  home: { title: string; heading: string; lead: string; steps: string[]; tryDemo: string; forDevelopers: string; discovery: string };
  login: {
    title: string;
    heading: (app: string) => string;
    lead: string;
    wechat: string;
    qrHint: string;
    insideWeChat: string;
    cancel: string;
    phoneScan: string;
    phoneMatch: string;
    phoneWaiting: string;
    phoneScanned: string;
    phoneExpired: string;
    phoneNewCode: string;
    phoneNoScript: string;
    phoneSandbox: string;
    orWebApp: string;
  };
  phone: {
    title: string;
    heading: (app: string) => string;
    warning: string;
    requested: string;
    browser: string;
    match: string;
    signedInAs: string;
    allow: string;
    deny: string;
  };
  consent: {
    title: string;
    heading: (app: string) => string;
    signedInAs: string;
    receives: string;
    allow: string;
    deny: string;
    note: string;
  };
  logout: { title: string; heading: string; question: (app: string | undefined, host: string) => string; signOut: string; stay: string };
  loggedOut: { title: string; heading: string; text: (app: string | undefined) => string; home: string };
  message: { detail: string };
  demo: {
    title: string;
    heading: string;
    lead: string;
    signIn: string;
    signedIn: string;
    claims: string;
    signOut: string;
    failed: string;
    again: string;
    errors: Record<string, string>;
  };
  sandbox: {
    title: string;
    appName: string;
    asksProfile: string;
    silent: string;
    silentHint: string;
    snapshot: string;
    newUser: string;
    webAppName: string;
    qrAsks: string;
    qrHint: string;
    createAndAllow: string;
    existing: string;
    refuse: string;
    errorTitle: string;
    errorHint: string;
    codesTitle: string;
    codesLead: string;
    miniCode: string;
    mobileCode: string;
    codeIssued: string;
    codeHint: string;
  };
}

const zh: PageTexts = {
  otherLanguage: { code: 'en', label: 'English' },
  sandboxBanner: '微信沙盒：这里不是真实的微信，仅供开发和演示',
  footer: '微信登录身份服务',
  home: {
    title: '微信登录身份服务',
    heading: '用微信登录你的所有应用',
    lead: '这是一个标准的 OpenID Connect 身份服务。应用把用户送到这里，用户用微信确认身份，应用收到包含 openid、昵称和头像的 ID Token。',
    steps: ['应用跳转到本服务', '用户在微信中授权', '应用收到 ID Token'],
    tryDemo: '体验演示应用',
    forDevelopers: '开发者：用任意 OpenID Connect 库接入，配置地址如下。',
    discovery: '配置地址：',
  },
  login: {
    title: '登录',
    heading: (app) => `登录 ${app}`,
    lead: '使用你的微信账号登录，无需注册。',
    wechat: '微信登录',
    qrHint: '点击后用手机微信扫描二维码并确认。',
    insideWeChat: '在微信中打开此页面，可以直接授权登录。',
    cancel: '取消登录',
    phoneScan: '用手机微信扫描二维码，在手机上确认后，这台电脑就会登录。',
    phoneMatch: '核对码',
    phoneWaiting: '等待扫码…',
    phoneScanned: '已扫码，请在手机上确认。',
    phoneExpired: '二维码已过期。',
    phoneNewCode: '换一个二维码',
    phoneNoScript: '在手机上确认后，点这里继续',
    phoneSandbox: '沙盒：用模拟微信的浏览器打开这个链接，相当于扫码',
    orWebApp: '或者用公众号扫码：',
  },
  phone: {
    title: '在电脑上登录',
    heading: (app) => `在电脑上登录 ${app}？`,
    warning: '确认后，一台电脑将以你的微信身份登录。如果不是你本人刚刚在电脑上扫的码，请点“拒绝”。',
    requested: '请求时间',
    browser: '电脑浏览器',
    match: '核对码（应与电脑上显示的一致）',
    signedInAs: '你的微信账号',
    allow: '允许登录',
    deny: '拒绝',
  },
  consent: {
    title: '授权',
    heading: (app) => `${app} 请求获取你的信息`,
    signedInAs: '当前微信账号',
    receives: '该应用将获得：',
    allow: '允许',
    deny: '拒绝',
    note: '你可以随时退出登录。拒绝后，应用不会获得任何信息。',
  },
  logout: {
    title: '退出登录',
    heading: '退出登录？',
    question: (app, host) => (app ? `你将退出 ${app} 在 ${host} 的登录。` : `你将退出在 ${host} 的登录。`),
    signOut: '退出登录',
    stay: '保持登录',
  },
  loggedOut: {
    title: '已退出',
    heading: '你已退出登录',
    text: (app) => (app ? `你已退出 ${app}。下次使用时需要重新用微信登录。` : '下次使用时需要重新用微信登录。'),
    home: '返回首页',
  },
  message: { detail: '技术信息（提供给应用开发者）' },
  demo: {
    title: '演示应用',
    heading: '演示应用',
    lead: '一个通过 OpenID Connect 接入本服务的示例应用。',
    signIn: '微信登录',
    signedIn: '登录成功。ID Token 中的声明：',
    claims: 'ID Token 声明',
    signOut: '退出登录',
    failed: '登录没有完成。',
    again: '请重新登录。',
    errors: {
      access_denied: '你拒绝了授权。',
      login_expired: '登录已过期。',
      invalid_callback: '登录回调无效。',
    },
  },
  sandbox: {
    title: '微信授权',
    appName: '沙盒公众号',
    webAppName: '沙盒网站应用',
    qrAsks: '请求使用微信扫码登录',
    qrHint: '真实的微信会在这里显示二维码，由手机微信扫码并确认。请选择由哪位测试用户扫码。',
    asksProfile: '申请获得你的昵称、头像',
    silent: '静默授权（snsapi_base）',
    silentHint: '真实的微信不会显示此页面，只返回 openid。请选择由哪位测试用户登录。',
    snapshot: '模拟快照用户（openid、unionid 和昵称都是虚拟的）',
    newUser: '新建测试用户',
    createAndAllow: '新建并允许',
    existing: '或以已有测试用户身份允许',
    refuse: '拒绝',
    errorTitle: '出错了',
    errorHint: '微信不会打开这个授权链接，请检查发起登录的网站。',
    codesTitle: '测试登录码',
    codesLead:
      '小程序的 wx.login 和移动应用的微信 SDK 会给应用一个一次性的微信登录码。在这里为测试用户领取一个，再在 /token 用令牌交换换取本服务的令牌。',
    miniCode: '小程序登录码',
    mobileCode: '移动应用登录码',
    codeIssued: '登录码（5 分钟内有效，只能用一次）',
    codeHint: '用下面的命令换取令牌：',
  },
};

const en: PageTexts = {
  otherLanguage: { code: 'zh-CN', label: '中文' },
  sandboxBanner: 'WeChat sandbox: this is not the real WeChat, for development and demos only',
  footer: 'Sign in with WeChat',
  home: {
    title: 'Sign in with WeChat',
    heading: 'Sign in to all your apps with WeChat',
    lead:
      'A standard OpenID Connect provider. Apps send people here, people confirm who they are in ' +
      'WeChat, and apps receive an ID token with the openid, nickname and avatar.',
    steps: ['The app sends you here', 'You allow it in WeChat', 'The app receives an ID token'],
    tryDemo: 'Try the demo app',
    forDevelopers: 'Developers: connect with any OpenID Connect library using the discovery address below.',
    discovery: 'Discovery address:',
  },
  login: {
    title: 'Sign in',
    heading: (app) => `Sign in to ${app}`,
    lead: 'Use your WeChat account; there is nothing to register.',
    wechat: 'Sign in with WeChat',
    qrHint: 'Then scan the QR code with WeChat on your phone and confirm.',
    insideWeChat: 'Open this page inside WeChat to sign in directly.',
    cancel: 'Cancel',
    phoneScan: 'Scan the QR code with WeChat on your phone and confirm there: this computer is then signed in.',
    phoneMatch: 'Match code',
    phoneWaiting: 'Waiting for the scan…',
    phoneScanned: 'Scanned: confirm on your phone.',
    phoneExpired: 'The QR code has expired.',
    phoneNewCode: 'Get a new QR code',
    phoneNoScript: 'Once you have confirmed on your phone, continue here',
    phoneSandbox: 'Sandbox: open this link in a browser playing WeChat, as if scanned',
    orWebApp: 'Or scan with the Official Account:',
  },
  phone: {
    title: 'Sign in on a computer',
    heading: (app) => `Sign in to ${app} on a computer?`,
    warning: 'If you allow it, a computer will be signed in as you. If you did not just scan this code on your own computer, deny.',
    requested: 'Requested at',
    browser: 'Computer browser',
    match: 'Match code (the same as on the computer)',
    signedInAs: 'Your WeChat account',
    allow: 'Allow',
    deny: 'Deny',
  },
  consent: {
    title: 'Allow access',
    heading: (app) => `${app} would like to receive your information`,
    signedInAs: 'Your WeChat account',
    receives: 'The app will receive:',
    allow: 'Allow',
    deny: 'Deny',
    note: 'You can sign out at any time. If you deny, the app receives nothing.',
  },
  logout: {
    title: 'Sign out',
    heading: 'Sign out?',
    question: (app, host) => (app ? `You will be signed out of ${app} at ${host}.` : `You will be signed out at ${host}.`),
    signOut: 'Sign out',
    stay: 'Stay signed in',
  },
  loggedOut: {
    title: 'Signed out',
    heading: 'You are signed out',
    text: (app) => (app ? `You have signed out of ${app}. Next time, sign in with WeChat again.` : 'Next time, sign in with WeChat again.'),
    home: 'Home page',
  },
  message: { detail: 'Technical details (for the app’s developer)' },
  demo: {
    title: 'Demo app',
    heading: 'Demo app',
    lead: 'An example app that signs people in through this provider with OpenID Connect.',
    signIn: 'Sign in with WeChat',
    signedIn: 'Signed in. The ID token’s claims:',
    claims: 'ID token claims',
    signOut: 'Sign out',
    failed: 'The sign-in did not complete.',
    again: 'Please sign in again.',
    errors: {
      access_denied: 'You denied access.',
      login_expired: 'The sign-in expired.',
      invalid_callback: 'The sign-in callback was not valid.',
    },
  },
  sandbox: {
    title: 'WeChat authorization',
    appName: 'Sandbox Official Account',
    webAppName: 'Sandbox website app',
    qrAsks: 'would like you to sign in by scanning with WeChat',
    qrHint: 'Real WeChat shows a QR code here, scanned and confirmed in WeChat on a phone. Pick the test user who scans it.',
    asksProfile: 'would like your nickname and avatar',
    silent: 'silent sign-in (snsapi_base)',
    silentHint: 'Real WeChat shows no page for this scope and only hands over the openid. Pick the test user who is signing in.',
    snapshot: 'Simulate a snapshot user (virtual openid, unionid and nickname)',
    newUser: 'New test user',
    createAndAllow: 'Create and allow',
    existing: 'Or allow as an existing test user',
    refuse: 'Refuse',
    errorTitle: 'Something went wrong',
    errorHint: 'WeChat will not open this authorization link: check the site that started the sign-in.',
    codesTitle: 'Test sign-in codes',
    codesLead:
      "A mini-program's wx.login and a mobile app's WeChat SDK hand the app a one-time WeChat code. " +
      'Get one for a test user here, then trade it for our tokens with a token exchange at /token.',
    miniCode: 'Mini-program code',
    mobileCode: 'Mobile app code',
    codeIssued: 'The code (valid 5 minutes, once)',
    codeHint: 'Trade it for tokens with:',
  },
};

export const TEXTS: Record<Language, PageTexts> = { 'zh-CN': zh, en };
