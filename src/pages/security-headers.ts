import helmet from 'koa-helmet';
import type { Middleware } from 'koa';

/**
 * Security headers on every response, oidc-provider's included (they are set on the raw
 * response before it takes over). Our pages carry no script and no inline style, so the
 * policy allows only our own files. oidc-provider's form_post page has one inline script: it
 * adds that script's sha256 to `script-src` itself when the header is already there
 * (oidc-provider lib/helpers/script_src_sha.js), which is why `script-src` is spelled out.
 */
export function securityHeaders(options: { https: boolean }): Middleware {
  return helmet({
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
    strictTransportSecurity: options.https ? { maxAge: 180 * 24 * 60 * 60 } : false,
  });
}
