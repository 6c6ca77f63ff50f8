// Read by the provider's configuration and by the signing keys (how long a retired key stays
// published); a module of its own so that `npm run keys` loads no page or router code.
// Lifetimes in seconds, every model set on purpose rather than left to library defaults.
export const TTL = {
  AccessToken: 60 * 60,
  AuthorizationCode: 60,
  ClientCredentials: 10 * 60,
  DeviceCode: 10 * 60,
  BackchannelAuthenticationRequest: 10 * 60,
  IdToken: 60 * 60,
  // WeChat codes live 5 minutes and sign-ins may need a detour (snapshot page, retry):
  // the interaction outlives them comfortably.
  Interaction: 30 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
  Session: 14 * 24 * 60 * 60,
  Grant: 14 * 24 * 60 * 60,
} as const;
