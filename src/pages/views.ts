import views from 'koa-views';
import type Koa from 'koa';
import type { Context } from 'koa';
import { viewsDir } from '../paths.js';
import { languageOf } from './language.js';
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

interface PageOptions {
  /** Compile each template once and keep it (everywhere but development, where an edited
   * template shows at the next request). */
  cache: boolean;
  /** Shows the sandbox banner on every page. */
  sandbox?: boolean;
}

type Render = (this: Context, view: string, locals?: Record<string, unknown>) => Promise<void>;

/**
 * Gives every context of `app` a `ctx.render(view, locals)` that writes an ejs template from
 * views/ in the page language (`lang`, texts `t`, `pick({ zh, en })`, `returnTo`, `sandbox`).
 * It is set once on the app's context prototype, and the language is worked out only when a
 * page is rendered: the many requests that render nothing (tokens, userinfo, redirects) pay
 * nothing for pages.
 * Locals are handed to ejs together with its options, so no local may be named like an ejs
 * option (`client`, `cache`, `filename`, `root`, `async`, `escape`, `context`, …).
 */
export function installViews(app: Koa, options: PageOptions): void {
  // koa-views called without a context hands back a render function, meant for app.context;
  // but that function keeps the context it renders for in a variable of its own, which two
  // pages rendered at once would share: take a fresh one (a closure, no I/O) per page.
  const renderer = views(viewsDir, { extension: 'ejs', options: { cache: options.cache } }) as unknown as () => Render;
  app.context.render = function renderPage(this: Context, view: string, locals?: Record<string, unknown>) {
    const render = renderer();
    const lang = languageOf(this);
    this.state.t = TEXTS[lang];
    this.state.pick = (text: Bilingual) => (lang === 'en' ? text.en : text.zh);
    this.state.returnTo ??= returnPathFor(this);
    this.state.sandbox = options.sandbox ?? false;
    return render.call(this, view, locals);
  };
}
