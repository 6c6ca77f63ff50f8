/**
 * What a person reads when something stops their sign-in: short and human. Each message is
 * written twice, `zh` (Simplified Chinese, the default) and `en`, as complete translations:
 * a page shows exactly one of them, in the person's language (see language.ts), never both.
 * The operator gets the technical detail in the log instead.
 */
export interface PageMessage {
  status: number;
  zh: { title: string; text: string };
  en: { title: string; text: string };
}

export const messages = {
  interaction_expired: {
    status: 400,
    zh: { title: '登录已失效', text: '这个登录页面已过期或已经用过（可能来自旧的标签页或返回键）。请回到应用重新登录。' },
    en: {
      title: 'This sign-in has expired',
      text:
        'This sign-in page has expired or was already used (perhaps an old tab or ' +
        'the back button). Go back to the app and sign in again.',
    },
  },
  state_invalid: {
    status: 400,
    zh: { title: '登录链接无效', text: '这个微信登录回调已经用过或不属于当前登录。请重新登录。' },
    en: {
      title: 'Invalid sign-in link',
      text: 'This WeChat sign-in callback was already used or belongs to another sign-in. Please sign in again.',
    },
  },
  wechat_code_invalid: {
    status: 400,
    zh: { title: '微信授权已失效', text: '微信的授权码已过期或已使用。请重新登录。' },
    en: {
      title: 'WeChat authorization expired',
      text: 'The authorization from WeChat has expired or was already used. Please sign in again.',
    },
  },
  wechat_config: {
    status: 503,
    zh: { title: '登录服务配置有误', text: '本服务与微信的对接配置有误，暂时无法登录。我们已记录此问题，请联系网站管理员。' },
    en: {
      title: 'Sign-in is misconfigured',
      text:
        'This service is not set up correctly with WeChat, so sign-in is unavailable. ' +
        'The problem is logged; please contact the site administrator.',
    },
  },
  wechat_scope: {
    status: 400,
    zh: { title: '未获得授权', text: '微信没有授予读取你的公开资料的权限。请重新登录并在微信中同意授权。' },
    en: {
      title: 'Permission not granted',
      text: 'WeChat did not grant access to your public profile. Please sign in again and allow it in WeChat.',
    },
  },
  wechat_unavailable: {
    status: 503,
    zh: { title: '微信暂时无法响应', text: '微信服务繁忙或暂时无法连接。请稍后重试。' },
    en: { title: 'WeChat is not responding', text: 'WeChat is busy or cannot be reached right now. Please try again in a moment.' },
  },
  wechat_failed: {
    status: 502,
    zh: { title: '微信登录失败', text: '微信返回了一个错误，登录没有完成。请重新登录。' },
    en: { title: 'WeChat sign-in failed', text: 'WeChat answered with an error and the sign-in did not complete. Please try again.' },
  },
  snapshot_user: {
    status: 200,
    zh: { title: '请使用完整服务', text: '你正在浏览页面快照，无法登录。请点击屏幕下方的“使用完整服务”，然后重新登录。' },
    en: {
      title: 'Open the full service',
      text:
        'You are viewing a snapshot of this page and cannot sign in from it. Tap “Use ' +
        'full service” at the bottom of the screen, then sign in again.',
    },
  },
  account_blocked: {
    status: 403,
    zh: { title: '账号已停用', text: '你的账号已被本服务停用，无法登录。如有疑问，请联系网站管理员。' },
    en: {
      title: 'Account blocked',
      text:
        'Your account has been blocked on this service, so you cannot sign in. If ' +
        'you think this is a mistake, contact the site administrator.',
    },
  },
  request_invalid: {
    status: 400,
    zh: { title: '请求无效', text: '应用发来的登录请求有误，无法继续。请回到应用重试；如果问题持续，请联系应用的开发者。' },
    en: {
      title: 'Invalid request',
      text:
        'The app sent a sign-in request that cannot be processed. Go back to the app and ' +
        'try again; if it keeps happening, contact the app’s developer.',
    },
  },
  unknown_client: {
    status: 400,
    zh: { title: '未知的应用', text: '把你带到这里的应用没有在本服务登记，无法登录。请回到应用，或联系应用的开发者。' },
    en: {
      title: 'Unknown app',
      text:
        'The app that sent you here is not registered with this sign-in service, so you ' +
        'cannot sign in. Go back to the app, or contact its developer.',
    },
  },
  too_many_requests: {
    status: 429,
    zh: { title: '请求太频繁', text: '来自你的网络的登录请求太多了。请稍等片刻再试。' },
    en: {
      title: 'Too many requests',
      text: 'Too many sign-in requests came from your network. Please wait a moment and try again.',
    },
  },
  phone_link_invalid: {
    status: 400,
    zh: { title: '二维码已失效', text: '这个登录二维码已过期或已经扫过。请在电脑上换一个二维码，再扫一次。' },
    en: {
      title: 'This QR code no longer works',
      text: 'This sign-in QR code has expired or was already scanned. Get a new one on the computer and scan again.',
    },
  },
  phone_open_in_wechat: {
    status: 400,
    zh: { title: '请用微信扫码', text: '这个二维码要用手机微信扫描（企业微信和其他浏览器不行）。' },
    en: {
      title: 'Scan with WeChat',
      text: 'This QR code must be scanned with WeChat on your phone (not WeChat Work or another browser).',
    },
  },
  phone_allowed: {
    status: 200,
    zh: { title: '已确认', text: '电脑正在登录，你可以关闭这个页面。' },
    en: { title: 'Confirmed', text: 'The computer is signing in. You can close this page.' },
  },
  phone_denied: {
    status: 200,
    zh: { title: '已拒绝', text: '电脑没有登录。你可以关闭这个页面。' },
    en: { title: 'Denied', text: 'The computer was not signed in. You can close this page.' },
  },
  service_unavailable: {
    status: 503,
    zh: { title: '服务暂时不可用', text: '登录服务暂时无法访问数据，你的登录没有完成，也没有留下任何半成品。请稍后重试。' },
    en: {
      title: 'Temporarily unavailable',
      text: 'The sign-in service cannot reach its data right now. Nothing was half-done; please try again in a moment.',
    },
  },
  server_error: {
    status: 500,
    zh: { title: '出错了', text: '服务暂时出现问题，登录没有完成。请稍后重试。' },
    en: {
      title: 'Something went wrong',
      text: 'The service ran into a problem and the sign-in did not complete. Please try again in a moment.',
    },
  },
  not_found: {
    status: 404,
    zh: { title: '页面不存在', text: '你访问的页面不存在。' },
    en: { title: 'Page not found', text: 'The page you asked for does not exist.' },
  },
} satisfies Record<string, PageMessage>;

export type MessageKey = keyof typeof messages;
