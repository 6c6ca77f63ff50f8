// For the knex CLI (`npx knex --knexfile dist/knexfile.js migrate:latest`); the service itself
// migrates at start and through `npm run migrate`.
import { knexConfig } from './src/db/knex.js';

export default knexConfig(process.env.DATABASE_URL ?? 'sqlite:data/idp.sqlite3');
