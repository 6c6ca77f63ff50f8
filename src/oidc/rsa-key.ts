import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'oidc-provider';

/**
 * A new RSA private key as a JWK.
 *
 * Not `generateKeyPairSync(...).privateKey.export({ format: 'jwk' })`: on Node.js 20 that
 * deadlocks at random. The export holds the key's lock while it builds the JWK's strings; when
 * that allocation starts a garbage collection which frees the finished key-generation job, the
 * job's destructor asks for the same lock and the process hangs for good (seen as a provider
 * that never began to listen, about one start in thirty). Taking the key out as DER and
 * exporting a key object made from those bytes leaves the job nothing to share with it.
 */
export function newRsaPrivateJwk(modulusLength = 2048): JWK {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength,
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
}
