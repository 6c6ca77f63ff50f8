import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { closestName } from './did-you-mean.js';
import { SETTING_NAMES } from './env.js';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'] as const;

/** OAuth 2.0 Token Exchange (RFC 8693): a mini-program's or mobile app's WeChat code traded at /token. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const GRANT_TYPES = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT] as const;
export type TokenEndpointAuthMethod = (typeof AUTH_METHODS)[number];

/**
 * One relying party as oidc-provider accepts it, plus our `skip_consent` (first-party apps),
 * which the caller must strip before handing the object to the provider. Fields not listed
 * here pass through untouched for oidc-provider to validate.
 */
export interface ClientMetadata {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: Array<(typeof GRANT_TYPES)[number]>;
  response_types?: Array<'code'>;
  /** The WeChat apps (mini-program, mobile app) whose codes this client may exchange; absent → any of ours. */
  wechat_app_ids?: string[];
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  logo_uri?: string;
  skip_consent?: boolean;
  [field: string]: unknown;
}

/** Production floor for shared secrets: HS256 (client_secret_jwt) wants at least 256 bits. */
const MIN_SECRET_LENGTH = 32;
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Settings of the service whose values are public: any field may use them (`${ISSUER}/demo/callback`). */
const PUBLIC_SETTINGS = new Set(['ISSUER', 'PORT']);
/** The fields that hold a secret: the only ones the operator's own variables may fill. */
const SECRET_FIELDS = new Set(['client_secret']);

/**
 * The fields a client may have: the metadata oidc-provider uses with the features this provider
 * turns on, and our own `skip_consent`. Anything else is a typo (`skip_consnet`) or a feature
 * that is off: oidc-provider would ignore it silently, so it is refused here.
 */
const KNOWN_FIELDS = [
  'client_id',
  'client_secret',
  'client_name',
  'client_uri',
  'logo_uri',
  'policy_uri',
  'tos_uri',
  'contacts',
  'application_type',
  'redirect_uris',
  'post_logout_redirect_uris',
  'grant_types',
  'response_types',
  'scope',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'jwks',
  'jwks_uri',
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'default_max_age',
  'require_auth_time',
  'initiate_login_uri',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'wechat_app_ids',
  'skip_consent',
] as const;

/** The client the project ships for its demo app: it leads nowhere when the demo is off. */
export const DEMO_CLIENT_ID = 'demo';

const absoluteUrl = z.string().refine((v) => URL.canParse(v), 'Invalid URL: must be absolute');

function clientSchema(production: boolean) {
  return z
    .looseObject({
      client_id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a non-empty string of letters, digits, ".", "_" or "-"'),
      client_secret: z.string().min(1, 'must not be empty').optional(),
      client_name: z.string().optional(),
      // OAuth 2.0 §3.1.2: a redirection endpoint URI must not include a fragment.
      // Required for the code flow (below); a client that only exchanges WeChat codes has none.
      redirect_uris: z.array(absoluteUrl.refine((v) => !v.includes('#'), 'must not have a fragment')).optional(),
      post_logout_redirect_uris: z.array(absoluteUrl).optional(),
      // Back-Channel Logout 1.0 §2.2: an absolute URL, no fragment; the app's server takes logout tokens there.
      backchannel_logout_uri: absoluteUrl.refine((v) => !v.includes('#'), 'must not have a fragment').optional(),
      backchannel_logout_session_required: z.boolean().optional(),
      // The code flow (browsers), or a WeChat code exchanged (mini-programs, mobile apps): a
      // person signs in through WeChat either way, so no client credentials or passwords.
      grant_types: z
        .array(z.enum(GRANT_TYPES, `may hold only ${GRANT_TYPES.join(', ')}`))
        .refine(
          (g) => g.includes('authorization_code') || g.includes(TOKEN_EXCHANGE_GRANT),
          `must include authorization_code or ${TOKEN_EXCHANGE_GRANT}`,
        )
        .optional(),
      wechat_app_ids: z.array(z.string().min(1, 'must not be empty')).min(1, 'must list at least one WeChat app id').optional(),
      response_types: z
        .array(z.string())
        .refine((r) => r.length === 1 && r[0] === 'code', 'must be ["code"]')
        .optional(),
      token_endpoint_auth_method: z.enum(AUTH_METHODS).optional(),
      skip_consent: z.boolean().optional(),
    })
    .superRefine((client, ctx) => {
      const codeFlow = (client.grant_types ?? ['authorization_code']).includes('authorization_code');
      if (codeFlow && !client.redirect_uris?.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['redirect_uris'],
          message: 'is required, with at least one URI (the client uses authorization_code)',
        });
      }
      if (!codeFlow && client.response_types?.length) {
        ctx.addIssue({ code: 'custom', path: ['response_types'], message: 'must be left out: the client does not use authorization_code' });
      }
      const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
      const needsSecret = method !== 'none' && method !== 'private_key_jwt';
      if (needsSecret && client.client_secret === undefined) {
        ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `is required with token_endpoint_auth_method ${method}` });
      }
      if (production && client.client_secret !== undefined && client.client_secret.length < MIN_SECRET_LENGTH) {
        ctx.addIssue({
          code: 'custom',
          path: ['client_secret'],
          message: `must be at least ${MIN_SECRET_LENGTH} characters when NODE_ENV=production`,
        });
      }
      if (!production) return;
      if (client.client_id === DEMO_CLIENT_ID) {
        ctx.addIssue({
          code: 'custom',
          path: ['client_id'],
          message: 'is the shipped demo app, which is off when NODE_ENV=production: remove it from the file',
        });
      }
      // Codes and tokens travel to these URLs; in production even localhost must be https.
      for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
        client[field]?.forEach((uri, index) => {
          if (URL.canParse(uri) && new URL(uri).protocol !== 'https:') {
            ctx.addIssue({ code: 'custom', path: [field, index], message: 'must be an https URL when NODE_ENV=production' });
          }
        });
      }
      const logoutUri = client.backchannel_logout_uri;
      if (logoutUri && URL.canParse(logoutUri) && new URL(logoutUri).protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', path: ['backchannel_logout_uri'], message: 'must be an https URL when NODE_ENV=production' });
      }
    });
}

/** `['redirect_uris', 0]` → `redirect_uris[0]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}

/**
 * Why `${name}` may not stand in the field at `path`, if it may not. A variable brings a secret
 * into the one field made for it; anywhere else it could publish whatever the environment
 * holds (a public `client_name` showing COOKIE_KEYS). The service's own settings are never a
 * client's secret.
 */
function placeholderProblem(name: string, path: readonly PropertyKey[]): string | undefined {
  if (PUBLIC_SETTINGS.has(name)) return undefined;
  if (!SECRET_FIELDS.has(String(path[0]))) return `\${${name}}: only client_secret may take a variable (any field may use \${ISSUER})`;
  if (SETTING_NAMES.includes(name)) return `\${${name}}: is a setting of the service itself, never a client's secret`;
  return undefined;
}

/** Replaces `${NAME}` in every string, however deep; records each placeholder left unfilled, and why. */
function substitute(
  value: unknown,
  vars: Record<string, string | undefined>,
  path: PropertyKey[],
  unfilled: Array<{ path: PropertyKey[]; reason: string }>,
): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (placeholder, name: string) => {
      const problem = placeholderProblem(name, path);
      const replacement = problem ? undefined : vars[name];
      // Blank counts as unset, as for every other setting: an empty secret is always a mistake.
      if (replacement === undefined || replacement === '') {
        unfilled.push({ path, reason: problem ?? `variable ${name} is not set` });
        return placeholder;
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, [...path, i], unfilled));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars, [...path, k], unfilled)]));
  }
  return value;
}

/** JSON.parse messages quote the surrounding source, which may hold a literal secret. */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const withoutExcerpt = message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
  const position = /at position (\d+)/.exec(withoutExcerpt);
  if (!position) return withoutExcerpt;
  const before = text.slice(0, Number(position[1])).split('\n');
  return `${withoutExcerpt} (line ${before.length} column ${(before.at(-1)?.length ?? 0) + 1})`;
}

/**
 * Reads the clients file, fills `${NAME}` placeholders from `vars` and validates every client.
 * Throws ConfigError listing every problem, one per line, as
 * `CLIENTS_FILE <path>: client "<id or #index>" field <field>: <reason>`.
 */
export async function readClients(
  file: string,
  vars: Record<string, string | undefined>,
  options: { production: boolean },
): Promise<ClientMetadata[]> {
  const where = `CLIENTS_FILE ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${where}: cannot read the file (${code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${where}: invalid JSON: ${describeJsonError(error, text)}`);
  }
  if (!Array.isArray(data)) {
    throw new ConfigError(`${where}: must be a JSON array of client metadata objects`);
  }

  const schema = clientSchema(options.production);
  const problems: string[] = [];
  const clients: ClientMetadata[] = [];
  const firstIndexById = new Map<string, number>();

  data.forEach((raw: unknown, index) => {
    const missing: Array<{ path: PropertyKey[]; reason: string }> = [];
    const client = substitute(raw, vars, [], missing);
    const id = (client as { client_id?: unknown } | null)?.client_id;
    const label = typeof id === 'string' && id !== '' ? `client "${id}"` : `client "#${index}"`;
    const report = (path: readonly PropertyKey[], reason: string) =>
      problems.push(path.length ? `${where}: ${label} field ${fieldPath(path)}: ${reason}` : `${where}: ${label}: ${reason}`);

    for (const m of missing) report(m.path, m.reason);
    if (client !== null && typeof client === 'object' && !Array.isArray(client)) {
      for (const field of Object.keys(client)) {
        if ((KNOWN_FIELDS as readonly string[]).includes(field)) continue;
        const guess = closestName(field, KNOWN_FIELDS);
        report([field], `unknown field${guess ? ` (did you mean ${guess}?)` : ''}`);
      }
    }
    const unresolved = new Set(missing.map((m) => fieldPath(m.path)));
    const result = schema.safeParse(client, {
      error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
    });
    if (!result.success) {
      for (const issue of result.error.issues) {
        // A field still holding its placeholder was already reported above.
        if (!unresolved.has(fieldPath(issue.path))) report(issue.path, issue.message);
      }
      return;
    }
    if (missing.length > 0) return;

    const first = firstIndexById.get(result.data.client_id);
    if (first !== undefined) {
      report(['client_id'], `duplicate: client #${first} already uses this client_id`);
      return;
    }
    firstIndexById.set(result.data.client_id, index);
    const metadata = client as ClientMetadata;
    // A client without the code flow has no authorization endpoint to answer: oidc-provider
    // wants that said as no response types and no redirect URIs.
    const codeFlow = (metadata.grant_types ?? ['authorization_code']).includes('authorization_code');
    clients.push(codeFlow ? metadata : { ...metadata, response_types: [], redirect_uris: [] });
  });

  // A provider with no relying party signs nobody in: in production that is a wrong file.
  if (options.production && data.length === 0) {
    problems.push(`${where}: lists no clients; register at least one relying party (see config/clients.example.json)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return clients;
}
