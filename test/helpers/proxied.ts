import { request } from 'node:http';

export interface ProxiedResponse {
  status: number;
  /** Header values by lower-case name; `set-cookie` is every cookie set. */
  header(name: string): string | null;
  cookies: string[];
  body: string;
}

/**
 * A request as a reverse proxy forwards it: sent to the instance's own address, with the
 * public host name in `Host` (which fetch cannot set). Redirects are not followed.
 */
export function proxied(
  url: string,
  host: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: { ...options.headers, host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          header: (name) => {
            const value = res.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          },
          cookies: res.headers['set-cookie'] ?? [],
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
