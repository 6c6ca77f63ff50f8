import type { Middleware } from 'koa';
import { isGrantTypeRefusal } from './internals.js';
import { PROVIDER_ROUTES } from './routes.js';

/**
 * A client asking the token endpoint for a grant it is not registered for is told
 * `unauthorized_client`, as RFC 6749 §5.2 names it (oidc-provider says `invalid_request`): an
 * app developer reading the error should see that the registration, not the request, is wrong.
 */
export const unauthorizedClientAnswers: Middleware = async (ctx, next) => {
  await next();
  if (ctx.path !== PROVIDER_ROUTES.token || !isGrantTypeRefusal(ctx)) return;
  ctx.body = { error: 'unauthorized_client', error_description: 'the client is not registered for this grant_type' };
};
