import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { JWK } from 'oidc-provider';

const TABLE = 'signing_keys';

interface KeyRow {
  kid: string;
  generation: number | string;
  jwk: string;
}

function generateSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' };
}

/**
 * The provider's signing keys, kept in the database so that tokens verify after a restart
 * and on every instance. The first start generates one; the unique `generation` column makes
 * two instances starting at once agree on it. Newest generation first: oidc-provider signs
 * with the first key that fits the algorithm.
 */
export async function loadSigningKeys(db: Knex): Promise<JWK[]> {
  const existing = await db(TABLE).count<{ n: number | string }[]>({ n: '*' });
  if (Number(existing[0]?.n ?? 0) === 0) {
    const jwk = generateSigningKey();
    await db(TABLE)
      .insert({ kid: jwk.kid, generation: 1, jwk: JSON.stringify(jwk), created_at: Date.now() })
      .onConflict('generation')
      .ignore();
  }
  const rows: KeyRow[] = await db(TABLE).select('kid', 'generation', 'jwk').orderBy('generation', 'desc');
  return rows.map((row) => JSON.parse(row.jwk) as JWK);
}
