import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../src/paths.js';
import { newRsaPrivateJwk } from '../src/oidc/rsa-key.js';

// The provider makes its first signing key at its first start (and every rotation makes one).
// On Node.js 20, a key made and exported the obvious way hangs the process now and then, when a
// garbage collection falls inside the export: such a start never listens. A small young
// generation makes collections frequent enough that the obvious way hangs within a few hundred
// keys here; this child makes two thousand with ours and must finish.
const STRESS = `
  import { newRsaPrivateJwk } from ${JSON.stringify(join(projectRoot, 'dist', 'src', 'oidc', 'rsa-key.js'))};
  let garbage = [];
  for (let i = 0; i < 2000; i += 1) {
    for (let j = Math.floor(Math.random() * 3000); j > 0; j -= 1) garbage.push('x' + j);
    if (garbage.length > 100000) garbage = [];
    newRsaPrivateJwk(512);
  }
  process.stdout.write('done');
`;

describe('new RSA signing keys', () => {
  it('are made without ever hanging the process, however garbage collection falls', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', STRESS], {
      env: { PATH: process.env.PATH ?? '' },
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(stdout).toBe('done');
  }, 90_000);

  it('are private RSA keys of the size asked for that sign and verify', () => {
    const jwk = newRsaPrivateJwk();
    expect(jwk).toMatchObject({ kty: 'RSA', e: 'AQAB' });
    expect(typeof jwk.d).toBe('string');
    expect(Buffer.from(jwk.n as string, 'base64url')).toHaveLength(256);
    const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
    const signature = sign('sha256', Buffer.from('payload'), privateKey);
    expect(verify('sha256', Buffer.from('payload'), createPublicKey(privateKey), signature)).toBe(true);
    expect(newRsaPrivateJwk().n).not.toBe(jwk.n);
  });
});
