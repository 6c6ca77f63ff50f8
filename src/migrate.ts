// `npm run migrate`: brings the database named by DATABASE_URL up to date and exits.
import { readSettings, } from './config/env.js';
import { ConfigError } from './config/errors.js';
import { createKnex, migrateLatest } from './db/knex.js';

try {
  const settings = readSettings(process.env);
  const db = createKnex(settings.databaseUrl);
  try {
    await migrateLatest(db);
    const [batch, log] = await db.migrate.list();
    process.stdout.write(`database is up to date (${batch.length} migrations applied, ${log.length} pending)\n`);
  } finally {
    await db.destroy();
  }
} catch (error) {
  const err = error as Error;
  process.stderr.write(error instanceof ConfigError ? `Configuration error:\n${err.message}\n` : `Migration failed: ${err.message}\n`);
  process.exit(1);
}
