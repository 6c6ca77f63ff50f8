import views from 'koa-views';
import compose from 'koa-compose';
import type { Context, Middleware } from 'koa';
import { viewsDir } from '../paths.js';
import { languageOf, pageLanguage } from './language.js';
import { TEXTS } from './texts.js';

declare module 'koa' {
  interface ExtendableContext {
    render(view: string, locals?: Record<string, unknown>): Promise<void>;
  }
}

/** Texts written in both languages ({ zh, en }, as messages and actions are) → this page's one. */
export type Bilingual = { zh: string; en: string };

// A GET whose URL spends something (WeChat's code and state, the demo's code) shows a
// different page when loaded again: the language switch must not lead back there.
const NOT_REPEATABLE = /\/callback$/;

/** Where the language switch returns to: this page, unless loading it again would change it. */
export function returnPathFor(ctx: Context): string | undefined {
  if (ctx.method !== 'GET' || NOT_REPEATABLE.test(ctx.path)) return undefined;
  const url = new URL(ctx.originalUrl, 'http://x');
  url.searchParams.delete('lang');
  return url.pathname + url.search;
}

/** What every template can read besides its own locals (koa-views merges ctx.state in). */
function pageLocals(): Middleware {
  return async (ctx, next) => {
    const lang = languageOf(ctx);
    ctx.state.t = TEXTS[lang];
    ctx.state.pick = (text: Bilingual) => (lang === 'en' ? text.en : text.zh);
    ctx.state.returnTo ??= returnPathFor(ctx);
    await next();
  };
}

/**
 * `ctx.render(view, locals)` with ejs templates from views/, written in the page language
 * (`lang`, texts `t`, `pick({ zh, en })`). Templates are compiled once and cached except in
 * development, where editing a template shows at the next request.
 * Locals are handed to ejs together with its options, so no local may be named like an ejs
 * option (`client`, `cache`, `filename`, `root`, `async`, `escape`, `context`, …).
 */
export function viewsMiddleware(options: { cache: boolean }): Middleware {
  return compose([
    pageLanguage(),
    pageLocals(),
    views(viewsDir, { extension: 'ejs', options: { cache: options.cache } }) as unknown as Middleware,
  ]);
}
