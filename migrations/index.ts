import type { Knex } from 'knex';
import * as initial from './20261123_001_initial.js';

// Migrations are listed here rather than discovered on disk, so the same list works from
// the TypeScript sources (tests), from dist/ (npm start) and from the knex CLI.
const migrations: Record<string, Knex.Migration> = {
  '20261123_001_initial': initial,
};

export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return Object.keys(migrations).sort();
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
