import type { Middleware } from 'koa';

/**
 * With an https issuer every cookie is `Secure`, whatever the connection this instance sees:
 * behind a TLS-terminating proxy it sees plain HTTP, and without TRUST_PROXY it would set the
 * session and interaction cookies without `Secure`, for a browser to send over plain HTTP.
 * The cookies library takes `secure` as "the connection is secure" and marks each cookie so
 * (https://github.com/pillarjs/cookies#new-cookiesrequest-response--options).
 */
export const secureCookies: Middleware = async (ctx, next) => {
  ctx.cookies.secure = true;
  await next();
};
