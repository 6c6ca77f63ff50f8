import Router from '@koa/router';
import { imageTypeOf, type AvatarStore } from './avatars.js';

/** The stable address of an account's avatar, as published in the `picture` claim. */
export const avatarPath = (accountId: string, etag: string) => `/avatars/${encodeURIComponent(accountId)}?v=${etag.slice(0, 16)}`;

/**
 * `GET /avatars/:sub`: the stored avatar. Apps on other sites show it, so it may be loaded
 * cross-origin. Only raster images are kept, and it is served so that nothing could run even
 * if one were not: a CSP with no sources and `sandbox` (a document opened from here has no
 * origin of ours), no sniffing. The `v` in the published URL changes with the image, so the
 * image may be cached for long; a plain URL still revalidates by ETag.
 */
export function avatarRouter(avatars: AvatarStore): Router {
  const router = new Router();
  router.get('/avatars/:sub', async (ctx) => {
    const found = await avatars.find(ctx.params.sub ?? '');
    // Stored before only raster images were kept (an SVG of the sandbox's): none.
    const avatar = found && imageTypeOf(found.bytes) ? found : undefined;
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (!avatar) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'no avatar';
      return;
    }
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    ctx.set('Cache-Control', ctx.query.v ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    ctx.set('ETag', `"${avatar.etag}"`);
    if (ctx.get('If-None-Match') === `"${avatar.etag}"`) {
      ctx.status = 304;
      return;
    }
    ctx.type = imageTypeOf(avatar.bytes)!;
    ctx.body = avatar.bytes;
  });
  return router;
}
