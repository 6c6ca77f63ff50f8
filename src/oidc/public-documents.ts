import type { Middleware } from 'koa';
import { DEFAULT_PUBLISH_FOR_MS } from './keys.js';
import { PROVIDER_ROUTES } from './routes.js';

const DISCOVERY = '/.well-known/openid-configuration';

/** Well under the time a new key is published before it signs, so no cache hides a signing key. */
const MAX_AGE_S = Math.min(300, DEFAULT_PUBLISH_FOR_MS / 2000);

/**
 * Discovery and the JWKS name only the issuer (the host check sees to that), so apps and
 * caches may keep them for a few minutes: fewer requests from every app's server, and no
 * cached copy outlives a key rotation's publication period.
 */
export const cachePublicDocuments: Middleware = async (ctx, next) => {
  await next();
  if (ctx.status === 200 && (ctx.path === DISCOVERY || ctx.path === PROVIDER_ROUTES.jwks)) {
    ctx.set('Cache-Control', `public, max-age=${MAX_AGE_S}`);
  }
};
