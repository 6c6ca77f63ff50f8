import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

/**
 * /metrics on a port of its own (METRICS_PORT, on METRICS_HOST, loopback by default), never on
 * the public one: what the service counts is for the operator's Prometheus, and no proxy rule
 * has to hide it (`/Metrics`, `/metrics/` and the like never reach it there). Resolves once
 * listening, with the address; rejects with a one-line reason naming the setting.
 */
export function listenForMetrics(app: Koa, port: number, host: string): Promise<{ server: Server; address: string }> {
  const server = createServer(app.callback());
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`METRICS_PORT ${port} on METRICS_HOST ${host} cannot be listened on (${error.code ?? error.message})`)),
    );
    server.listen(port, host, () => {
      const { address, port: bound } = server.address() as AddressInfo;
      resolve({ server, address: `http://${address.includes(':') ? `[${address}]` : address}:${bound}/metrics` });
    });
  });
}
