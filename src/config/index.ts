import { readClients, type ClientMetadata } from './clients.js';
import { readSettings, type Settings } from './env.js';

export { ConfigError } from './errors.js';
export type { ClientMetadata, TokenEndpointAuthMethod } from './clients.js';
export type { Settings, WeChatAppSettings } from './env.js';

/** Everything read at start, validated once and handed down as one object. */
export interface Config {
  settings: Settings;
  clients: ClientMetadata[];
}

/** Reads the settings, then the clients file; throws ConfigError on the first bad part. */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const settings = readSettings(env);
  // The resolved ISSUER and PORT (defaults included) let the shipped file write
  // "${ISSUER}/demo/callback" without the operator setting ISSUER in development.
  const vars = { ...env, ISSUER: settings.issuer, PORT: String(settings.port) };
  const clients = await readClients(settings.clientsFile, vars, { production: settings.production });
  return { settings, clients };
}
