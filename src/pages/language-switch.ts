import Router from '@koa/router';
import { isLanguage, rememberLanguage } from './language.js';

/** Only a path on this site: never `//host` or `/\host`, which browsers read as another site. */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  return value;
}

/**
 * The link on every page: `/lang/en?back=/same/page` remembers the choice in the `lang`
 * cookie and returns to the page, which renders again in that language. Pages oidc-provider
 * renders (logout, errors) read the same cookie, so the link works there too.
 */
export function languageSwitchRouter(): Router {
  const router = new Router();
  router.get('/lang/:lang', async (ctx) => {
    const back = safeReturnPath(ctx.query.back);
    if (isLanguage(ctx.params.lang)) rememberLanguage(ctx, ctx.params.lang);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(back);
  });
  return router;
}
