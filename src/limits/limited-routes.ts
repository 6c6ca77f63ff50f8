import type { Context } from 'koa';

/**
 * The endpoints whose requests are counted (each can be made to store rows, call WeChat or
 * check a secret), and how an over-limit request is answered: a page for a browser, an OAuth
 * error for a program. Discovery, keys, health and static files are cheap and cacheable.
 */
export type LimitedRoute = 'page' | 'program';

export function limitedRoute(path: string): LimitedRoute | undefined {
  if (path === '/auth' || path.startsWith('/auth/') || path.startsWith('/interaction/')) return 'page';
  if (path === '/token' || path === '/me' || path === '/token/introspection' || path === '/token/revocation') return 'program';
  if (path === '/request') return 'program'; // pushed authorization requests, when on
  if (path.startsWith('/avatars/')) return 'program';
  return undefined;
}

/**
 * The registered client a request names before its body is read: `client_id` in the query
 * (authorization requests) or the user of HTTP Basic authentication (the back-channel
 * endpoints). A name that is not registered counts for nothing: it would let anyone make up
 * a fresh counter, and a row, per request.
 */
export function namedClient(ctx: Context, registered: ReadonlySet<string>): string | undefined {
  const fromQuery = ctx.query.client_id;
  if (typeof fromQuery === 'string') return registered.has(fromQuery) ? fromQuery : undefined;
  const authorization = ctx.get('Authorization');
  if (!/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: the client id is form-encoded before it is put in the header.
  let clientId: string;
  try {
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
  return registered.has(clientId) ? clientId : undefined;
}

/**
 * One counter per address; an IPv6 client counts by its /64, the block one subscriber holds
 * (counting by whole address would give each of them 2^64 counters).
 */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
