import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { ConfigError } from './config';
import { loadCommandSigner, loadCommandVerifier } from './command-signing';

describe('signed commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signing-'));
  const file = (name: string, json: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(json));
    return path;
  };
  const keyOf = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    return { private: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }, public: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' } };
  };

  it('tells who signed a message, and refuses a changed message, an unknown signer, a missing or malformed signature', async () => {
    const [api, stranger] = await Promise.all([keyOf('api'), keyOf('stranger')]);
    const verifier = loadCommandVerifier({ KAFKA_SIGNERS_FILE: file('signers.json', { keys: [api.public] }) })!;
    const signer = (await loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: file('api.jwk', api.private) }))!;
    const value = JSON.stringify({ id: 'c1', data: { releaseId: 'web' } });
    const signature = await signer.sign(value);
    expect(signature).toMatch(/^[\w-]+\.\.[\w-]+$/);
    expect(await verifier.verify(Buffer.from(value), signature)).toEqual({ ok: true, principal: 'api' });
    expect(await verifier.verify(Buffer.from(value.replace('web', 'db')), signature)).toMatchObject({ ok: false, reason: expect.stringContaining('signature verification failed') });
    const theirs = (await loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: file('stranger.jwk', stranger.private) }))!;
    expect(await verifier.verify(Buffer.from(value), await theirs.sign(value))).toMatchObject({ ok: false, reason: expect.stringContaining('no applicable key found') });
    expect(await verifier.verify(Buffer.from(value), undefined)).toEqual({ ok: false, reason: 'not signed: no hrs-signature header' });
    expect(await verifier.verify(Buffer.from(value), 'a.b.c')).toEqual({ ok: false, reason: 'hrs-signature is not a detached JWS' });
  });

  it('refuses a signers file with private key material, and a signing key without a principal, without quoting them', async () => {
    const api = await keyOf('api');
    expect(() => loadCommandVerifier({ KAFKA_SIGNERS_FILE: file('leaky.json', { keys: [api.private] }) })).toThrow(/a signer key must be public/);
    const { kid: _kid, ...anonymous } = api.private;
    await expect(loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: file('anon.jwk', anonymous) })).rejects.toThrow(ConfigError);
    await expect(loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: file('anon.jwk', anonymous) })).rejects.not.toThrow(String(api.private.d));
    await expect(loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: join(dir, 'missing.jwk') })).rejects.toThrow(/cannot read .*ENOENT/);
  });
});
