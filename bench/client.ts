/** The relying party every benchmark sign-in uses: a first-party web app (consent skipped). */
export const BENCH_REDIRECT_URI = 'http://127.0.0.1:9/callback';

export function benchClient(_issuer: string, secret: string) {
  return {
    client_id: 'bench',
    client_name: 'Benchmark',
    client_secret: secret,
    redirect_uris: [BENCH_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    skip_consent: true,
  };
}
