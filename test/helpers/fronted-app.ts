import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { providerErrors } from '../../src/oidc/provider-errors.js';
import { installViews } from '../../src/pages/views.js';
import { createLogger } from '../../src/log.js';

const silent = createLogger('silent');

export interface App {
  url: string;
  close(): Promise<void>;
}

/** A Koa app fronted like oidc-provider's: its error answers outermost, then `before`, then `handle`. */
export async function appWith(handle: (ctx: Koa.Context) => Promise<void>, before: Koa.Middleware[] = []): Promise<App> {
  const koa = new Koa();
  koa.use(providerErrors(silent));
  for (const middleware of before) koa.use(middleware);
  installViews(koa, { cache: true, sandbox: false });
  koa.use(handle);
  const server: Server = await new Promise((resolve) => {
    const s = koa.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive connections of fetch would hold it open
      }),
  };
}
