import type { Context, Middleware } from 'koa';

/** The languages pages are written in; Simplified Chinese unless the person prefers English. */
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'zh-CN';

/** Set by the language switch; read on every page, also oidc-provider's own. */
export const LANGUAGE_COOKIE = 'lang';
const ONE_YEAR_MS = 365 * 24 * 60 * 60 * 1000;

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** `en`, `en-US`, `zh`, `zh-TW`… → one of ours; anything else → undefined. */
function normalise(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  if (lower === 'en' || lower.startsWith('en-') || lower.startsWith('en_')) return 'en';
  if (lower === 'zh' || lower.startsWith('zh-') || lower.startsWith('zh_')) return 'zh-CN';
  return undefined;
}

/**
 * The page language, in order: an explicit `?lang=` on this request, the `lang` cookie the
 * switch left, then Accept-Language (Koa's negotiator weighs q-values; WeChat's browser sends
 * the phone's language), else Chinese.
 */
export function negotiateLanguage(ctx: Context): Language {
  const asked = normalise(ctx.query.lang);
  if (asked) return asked;
  const remembered = normalise(ctx.cookies.get(LANGUAGE_COOKIE));
  if (remembered) return remembered;
  const accepted = ctx.get('Accept-Language') ? ctx.acceptsLanguages('zh', 'en') : false;
  return accepted === 'en' ? 'en' : DEFAULT_LANGUAGE;
}

export function rememberLanguage(ctx: Context, language: Language): void {
  // Unsigned: it only picks texts, and whatever it holds is checked again on every read.
  ctx.cookies.set(LANGUAGE_COOKIE, language, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: ONE_YEAR_MS,
    signed: false,
    overwrite: true,
  });
}

/** The language this request's pages are written in, worked out once per request. */
export function languageOf(ctx: Context): Language {
  const value = (ctx.state as { lang?: unknown }).lang;
  if (isLanguage(value)) return value;
  const lang = negotiateLanguage(ctx);
  ctx.state.lang = lang;
  return lang;
}

/**
 * Remembers an explicit `?lang=` choice in the `lang` cookie. Most requests carry no such
 * parameter and pass straight on; the language itself is worked out when a page is rendered.
 */
export const rememberLanguageChoice: Middleware = async (ctx, next) => {
  if (ctx.querystring.includes('lang=')) {
    const asked = normalise(ctx.query.lang);
    if (asked) rememberLanguage(ctx, asked);
  }
  await next();
};
