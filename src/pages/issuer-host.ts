import type { Middleware } from 'koa';

/** The host name of a Host header value: `[::1]:3000` → `[::1]`, `Id.Example.com` → `id.example.com`. */
function hostName(host: string): string | undefined {
  return URL.canParse(`http://${host}`) ? new URL(`http://${host}`).hostname : undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The service answers only for the issuer's host name. oidc-provider writes the request's
 * host into what it publishes (discovery's endpoints, the JWKS address): answering for
 * `Host: evil.example` would publish the attacker's token endpoint, and a shared cache could
 * hand that document to every app. Any other host gets `421 Misdirected Request`, before
 * anything runs.
 *
 * Two exceptions, neither of which publishes a host:
 * - `exempt` paths (health probes, metrics), which load balancers and orchestrators send to an
 *   instance's own address;
 * - in development, a page load on one loopback name while the issuer is on another
 *   (127.0.0.1 against localhost) is sent to the same path on the issuer with a 307, before any
 *   cookie is set: cookies are per host name, and a sign-in begun on one would expire on the other.
 *
 * The port is not compared (behind a proxy it differs by design). The Host header is read as
 * sent: X-Forwarded-Host is never believed.
 */
export function issuerHostOnly(issuer: string, exempt: readonly string[]): Middleware {
  const issuerUrl = new URL(issuer);
  return async (ctx, next) => {
    const host = ctx.get('host');
    const name = host ? hostName(host) : undefined;
    if (name === issuerUrl.hostname || exempt.includes(ctx.path)) return next();
    ctx.set('Cache-Control', 'no-store');
    const pageLoad = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (pageLoad && name !== undefined && LOOPBACK.has(name) && LOOPBACK.has(issuerUrl.hostname)) {
      ctx.status = 307;
      // Path and query set one by one: a path like //evil.example must stay a path.
      const target = new URL(issuerUrl.origin);
      target.pathname = ctx.path;
      target.search = ctx.querystring;
      ctx.redirect(target.href);
      return;
    }
    ctx.status = 421;
    ctx.type = 'text/plain';
    ctx.body = `Misdirected request: this service answers for ${issuerUrl.hostname} only.\n`;
  };
}
