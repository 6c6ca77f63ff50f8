import views from 'koa-views';
import type { Middleware } from 'koa';
import { viewsDir } from '../paths.js';

declare module 'koa' {
  interface ExtendableContext {
    render(view: string, locals?: Record<string, unknown>): Promise<void>;
  }
}

/**
 * `ctx.render(view, locals)` with ejs templates from views/. Templates are compiled once and
 * cached except in development, where editing a template shows at the next request.
 * Locals are handed to ejs together with its options, so no local may be named like an ejs
 * option (`client`, `cache`, `filename`, `root`, `async`, `escape`, …).
 */
export function viewsMiddleware(options: { cache: boolean }): Middleware {
  return views(viewsDir, {
    extension: 'ejs',
    options: { cache: options.cache },
  }) as unknown as Middleware;
}
