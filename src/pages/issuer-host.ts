import type { Middleware } from 'koa';

/** The host name of a Host header value: `[::1]:3000` → `[::1]`, `Id.Example.com` → `id.example.com`. */
function hostName(host: string): string | undefined {
  return URL.canParse(`http://${host}`) ? new URL(`http://${host}`).hostname : undefined;
}

/**
 * Sends a browser that arrived on another host name than the issuer's (127.0.0.1 when the
 * issuer says localhost, a bare IP, an old domain) to the same path on the issuer, before
 * anything sets a cookie: cookies are per host name, so a sign-in begun on one name would
 * end in "the sign-in expired" on the other. Only page loads are moved (GET and HEAD); the
 * port is not compared, since behind a proxy or between instances it differs by design.
 * `exempt` paths (probes, metrics) answer on any host.
 *
 * The Host header is read as sent: X-Forwarded-Host is never believed.
 */
export function issuerHostOnly(issuer: string, exempt: readonly string[]): Middleware {
  const issuerUrl = new URL(issuer);
  return async (ctx, next) => {
    const host = ctx.get('host');
    const name = host ? hostName(host) : undefined;
    if (
      (ctx.method === 'GET' || ctx.method === 'HEAD') &&
      name !== undefined &&
      name !== issuerUrl.hostname &&
      !exempt.includes(ctx.path)
    ) {
      ctx.status = 307;
      ctx.set('Cache-Control', 'no-store');
      // Path and query set one by one: a path like //evil.example must stay a path.
      const target = new URL(issuerUrl.origin);
      target.pathname = ctx.path;
      target.search = ctx.querystring;
      ctx.redirect(target.href);
      return;
    }
    await next();
  };
}
