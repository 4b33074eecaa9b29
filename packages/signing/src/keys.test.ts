import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { p256FromPem, publicKeyFingerprint, spkiKey, toPublicKey } from './keys.js';

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

describe('when the same public key text is read again in a process', () => {
  it('gives the same key object, and the fingerprint of the key itself', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(toPublicKey(pem)).toBe(toPublicKey(pem));
    expect(toPublicKey(pem).equals(publicKey)).toBe(true);
    const expected = `SHA256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64').replace(/=+$/, '')}`;
    expect(publicKeyFingerprint(pem)).toBe(expected);
    expect(publicKeyFingerprint(publicKey)).toBe(expected);
    // A private key's text gives its public half, and is not kept.
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(toPublicKey(privatePem).equals(publicKey)).toBe(true);
    expect(toPublicKey(privatePem)).not.toBe(toPublicKey(privatePem));
  });

  it('still refuses a key that is not P-256, every time', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => toPublicKey(pem)).toThrow(/P-256/);
    expect(() => toPublicKey(pem)).toThrow(/P-256/);
  });
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('when a P-256 public key is read from PEM as OpenSSL writes it', () => {
  const spki = (k: { export(o: { type: 'spki'; format: 'der' }): Buffer }) => k.export({ type: 'spki', format: 'der' }).toString('hex');
  it('gives the key the PEM decoder gives', () => {
    for (let i = 0; i < 20; i++) {
      const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const key = p256FromPem(pem);
      expect(key).toBeDefined();
      expect(spki(key!)).toBe(spki(createPublicKey(pem)));
      expect(spki(p256FromPem(pem.replace(/\n/g, '\r\n'))!)).toBe(spki(createPublicKey(pem)));
    }
  });

  it('leaves anything else to the decoder: other layouts, other keys, non-canonical base64', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const body = pem.split('\n').slice(1, -2).join('');
    const others = [
      pem.trimEnd() + '\n\n',
      ` ${pem}`,
      `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`,
      pem.replace('-----BEGIN PUBLIC KEY-----', '-----BEGIN EC PUBLIC KEY-----'),
      // The last base64 digit carries two unused bits: another digit decodes to the same bytes.
      pem.replace(/(.)(==\n)/, (_, c: string, end: string) => `${ALPHABET[ALPHABET.indexOf(c) ^ 1]}${end}`),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }) as string,
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ];
    for (const text of others) expect(p256FromPem(text)).toBeUndefined();
    // The decoder still reads those it reads: a one-line body, for one.
    expect(spki(toPublicKey(others[2]!))).toBe(spki(createPublicKey(pem)));
  });

  it('refuses a point off the curve, as the decoder does', () => {
    const der = Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'), Buffer.alloc(64, 1)]);
    const b64 = der.toString('base64');
    const pem = `-----BEGIN PUBLIC KEY-----\n${b64.slice(0, 64)}\n${b64.slice(64)}\n-----END PUBLIC KEY-----\n`;
    expect(() => p256FromPem(pem)).toThrow();
    expect(() => createPublicKey(pem)).toThrow();
  });
});
