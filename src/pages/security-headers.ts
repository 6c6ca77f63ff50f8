import helmet from 'koa-helmet';
import type { Middleware } from 'koa';

/**
 * Security headers on every response, oidc-provider's included (they are set on the raw
 * response before it takes over). Our pages carry no script and no inline style, so the
 * policy allows only our own files. oidc-provider's form_post page has one inline script: it
 * adds that script's sha256 to `script-src` itself when the header is already there
 * (oidc-provider lib/helpers/script_src_sha.js), which is why `script-src` is spelled out.
 *
 * The JSON endpoints (token, userinfo, keys, discovery, introspection, revocation) answer
 * programs, not browsers rendering a document: most of helmet's headers (framing, opener and
 * embedder policies, DNS prefetch, download options) describe documents and mean nothing
 * there. They get the few that do: no sniffing, a policy that forbids everything should the
 * answer ever be opened as a page, no Referer, and HSTS. Writing the dozen others costs
 * about a fifth of a userinfo call's CPU.
 */
export function securityHeaders(options: {
  https: boolean;
  /** Paths that answer programs in JSON (oidc/routes.ts). */ isApiPath: (path: string) => boolean;
}): Middleware {
  const forPages = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        // WeChat avatars (thirdwx.qlogo.cn) and apps' logos come from anywhere over https.
        imgSrc: ["'self'", 'https:', 'data:'],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        // No form-action: browsers apply it to the redirects after a submission too, and
        // allowing or denying a consent ends in a redirect to the app, wherever it lives.
        ...(options.https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // An authorization code in a URL must never travel on in a Referer header.
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    // Avatars the sandbox serves are shown by apps on other ports of the same host in development.
    crossOriginResourcePolicy: { policy: 'same-site' },
    strictTransportSecurity: options.https ? { maxAge: HSTS_MAX_AGE } : false,
  });
  const forApi: [string, string][] = [
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ...(options.https ? [['Strict-Transport-Security', `max-age=${HSTS_MAX_AGE}; includeSubDomains`] as [string, string]] : []),
  ];
  return (ctx, next) => {
    if (!options.isApiPath(ctx.path)) return forPages(ctx, next);
    for (const [name, value] of forApi) ctx.res.setHeader(name, value);
    return next();
  };
}

const HSTS_MAX_AGE = 180 * 24 * 60 * 60;
