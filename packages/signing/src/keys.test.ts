import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spkiKey } from './keys.js';

// spkiKey takes an uncompressed P-256 key through its coordinates (JWK) instead of OpenSSL's DER
// decoder: it must give the very key the decoder gives, and refuse what the decoder refuses.
describe('when a public key is read from its SubjectPublicKeyInfo', () => {
  const der = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'der' });

  it('gives the key the DER decoder gives, for P-256 keys', () => {
    for (let i = 0; i < 20; i++) {
      const spki = der('P-256');
      const key = spkiKey(spki);
      expect(key.export({ type: 'spki', format: 'der' }).equals(spki)).toBe(true);
      expect(key.equals(createPublicKey({ key: spki, format: 'der', type: 'spki' }))).toBe(true);
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
  });

  it('reads other keys through the DER decoder (a P-384 key stays a P-384 key)', () => {
    const spki = der('P-384');
    expect(spkiKey(spki).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });

  it('refuses a P-256 point that is not on the curve, as the decoder does', () => {
    const spki = Buffer.from(der('P-256'));
    spki[spki.length - 1]! ^= 0x01;
    expect(() => createPublicKey({ key: spki, format: 'der', type: 'spki' })).toThrow();
    expect(() => spkiKey(spki)).toThrow();
  });

  it('refuses bytes that are no key', () => {
    expect(() => spkiKey(Buffer.from('not a key'))).toThrow();
    expect(() => spkiKey(Buffer.alloc(0))).toThrow();
  });
});
