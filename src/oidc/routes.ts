/**
 * oidc-provider's endpoints in use, spelled out (they are its defaults) so that the front of
 * the service can hand their requests straight to it, past our own pages and routers.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#routes
 */
export const PROVIDER_ROUTES = {
  authorization: '/auth', // and /auth/:uid, where a finished interaction resumes
  token: '/token',
  userinfo: '/me',
  jwks: '/jwks',
  end_session: '/session/end', // and /session/end/confirm, /session/end/success
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  pushed_authorization_request: '/request', // answered only when PUSHED_AUTHORIZATION_REQUESTS is on
} as const;

const PREFIXES = Object.values(PROVIDER_ROUTES);

/** Whether a request path is one of oidc-provider's (discovery included). */
export function isProviderPath(path: string): boolean {
  if (path.startsWith('/.well-known/')) return true;
  return PREFIXES.some((route) => path === route || (path.startsWith(route) && path.charCodeAt(route.length) === 47) /* / */);
}

/**
 * oidc-provider's endpoints that answer programs with JSON (tokens, userinfo, keys,
 * discovery, introspection, revocation), never a browser with a page or a redirect.
 */
export function isProviderApiPath(path: string): boolean {
  return (
    path === PROVIDER_ROUTES.token ||
    path === PROVIDER_ROUTES.userinfo ||
    path === PROVIDER_ROUTES.jwks ||
    path === PROVIDER_ROUTES.introspection ||
    path === PROVIDER_ROUTES.revocation ||
    path === PROVIDER_ROUTES.pushed_authorization_request ||
    path.startsWith('/.well-known/')
  );
}

/** oidc-provider's endpoints that answer a browser with pages and redirects (the rest answer programs, in JSON). */
export function answersWithPages(path: string): boolean {
  return [PROVIDER_ROUTES.authorization, PROVIDER_ROUTES.end_session].some((route) => path === route || path.startsWith(`${route}/`));
}

/** Where oidc-provider sends the browser for the login step (see configuration.ts). */
export const interactionPath = (uid: string) => `/interaction/${uid}`;
