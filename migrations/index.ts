import type { Knex } from 'knex';
import * as initial from './20261123_001_initial.js';
import * as keyRotation from './20261123_002_key_rotation.js';
import * as partialModelIndexes from './20261124_001_partial_model_indexes.js';
import * as modelAccountIndex from './20261124_002_model_account_index.js';
import * as avatars from './20261124_003_avatars.js';
import * as modelSessionUid from './20261201_001_model_session_uid.js';
import * as modelUidIndex from './20261202_001_model_uid_index.js';
import * as oneStatePerInteraction from './20261204_001_one_state_per_interaction.js';
import * as rateLimits from './20261204_002_rate_limits.js';
import * as logoutNotices from './20261204_003_logout_notices.js';
import * as phoneSignIns from './20261204_004_phone_sign_ins.js';

// Migrations are listed here rather than discovered on disk, so the same list works from
// the TypeScript sources (tests), from dist/ (npm start) and from the knex CLI.
const migrations: Record<string, Knex.Migration> = {
  '20261123_001_initial': initial,
  '20261123_002_key_rotation': keyRotation,
  '20261124_001_partial_model_indexes': partialModelIndexes,
  '20261124_002_model_account_index': modelAccountIndex,
  '20261124_003_avatars': avatars,
  '20261201_001_model_session_uid': modelSessionUid,
  '20261202_001_model_uid_index': modelUidIndex,
  '20261204_001_one_state_per_interaction': oneStatePerInteraction,
  '20261204_002_rate_limits': rateLimits,
  '20261204_003_logout_notices': logoutNotices,
  '20261204_004_phone_sign_ins': phoneSignIns,
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
