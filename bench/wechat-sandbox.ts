// WeChat for the benchmark: the built-in sandbox (authorize page and API) in a process of its
// own, so that the provider under test is measured alone (its CPU and its memory), and ours
// and the bare baseline talk to the very same "WeChat". Started by bench/target.ts with PORT,
// the provider's origin (CALLBACK_ORIGIN, the registered 网页授权域名) and the app's
// credentials (APP_ID, APP_SECRET) in the environment.
import { createServer } from 'node:http';
import Koa from 'koa';
import knexFactory from 'knex';
import { migrationSource } from '../migrations/index.js';
import { sandboxRouter } from '../src/sandbox/routes.js';
import { installViews } from '../src/pages/views.js';

const port = Number(process.env.PORT);
const db = knexFactory({
  client: 'better-sqlite3',
  connection: { filename: ':memory:' },
  useNullAsDefault: true,
  migrations: { migrationSource },
});
await db.migrate.latest();

const koa = new Koa();
installViews(koa, { cache: true });
koa.use(
  sandboxRouter({
    db,
    issuer: `http://127.0.0.1:${port}`,
    callbackOrigin: process.env.CALLBACK_ORIGIN!,
    appId: process.env.APP_ID!,
    appSecret: process.env.APP_SECRET!,
  }).routes(),
);
createServer(koa.callback()).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
