import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateChainPem, p256FromPem, publicKeyFingerprint, publicKeyPem, spkiKey, toPublicKey } from './keys.js';

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

describe('when a fingerprint is taken of a P-256 key in PEM as OpenSSL writes it', () => {
  const prefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');
  const pemOf = (der: Buffer) => {
    const b64 = der.toString('base64');
    return `-----BEGIN PUBLIC KEY-----\n${b64.slice(0, 64)}\n${b64.slice(64)}\n-----END PUBLIC KEY-----\n`;
  };
  const openssl = (pem: string) => {
    try {
      const spki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
      return `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
    } catch {
      return 'refused';
    }
  };
  const ours = (pem: string) => {
    try {
      return publicKeyFingerprint(pem);
    } catch {
      return 'refused';
    }
  };

  it('gives the fingerprint of the key OpenSSL imports, for genuine keys', () => {
    for (let i = 0; i < 50; i++) {
      const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
      expect(ours(pem)).toBe(openssl(pem));
      expect(ours(pem)).not.toBe('refused');
    }
  });

  it('refuses what OpenSSL refuses: points off the curve, coordinates past the field prime', () => {
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    const genuine = () => Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
    const cases: Buffer[] = [Buffer.concat([prefix, Buffer.alloc(64, 1)]), Buffer.concat([prefix, Buffer.alloc(64)]), Buffer.concat([prefix, p, p]), Buffer.concat([prefix, Buffer.alloc(64, 0xff)])];
    for (let i = 0; i < 30; i++) {
      const der = genuine();
      der[prefix.length + (i % 64)]! ^= 1 << i % 8;
      cases.push(der);
    }
    // A genuine key's x with y replaced by p + y (the same value modulo p, not a valid encoding).
    const der = genuine();
    const y = BigInt(`0x${der.subarray(prefix.length + 32).toString('hex')}`);
    const pPlusY = BigInt(`0x${p.toString('hex')}`) + y;
    if (pPlusY < 2n ** 256n) cases.push(Buffer.concat([der.subarray(0, prefix.length + 32), Buffer.from(pPlusY.toString(16).padStart(64, '0'), 'hex')]));
    // A point of the curve with a small x, written also with x + p (the same value modulo p, not
    // a valid encoding): p is 3 modulo 4, so a square root is a power.
    const P = BigInt(`0x${p.toString('hex')}`);
    const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
    const pow = (base: bigint, exp: bigint): bigint => {
      let result = 1n;
      for (let b = base % P, e = exp; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) result = (result * b) % P;
      return result;
    };
    const hex = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
    let small: { x: bigint; y: bigint } | undefined;
    for (let x = 1n; !small; x++) {
      const rhs = (((x * x * x - 3n * x + B) % P) + P) % P;
      const y = pow(rhs, (P + 1n) / 4n);
      if ((y * y) % P === rhs) small = { x, y };
    }
    const onCurve = Buffer.concat([prefix, hex(small.x), hex(small.y)]);
    expect(ours(pemOf(onCurve))).toBe(openssl(pemOf(onCurve)));
    expect(ours(pemOf(onCurve))).not.toBe('refused');
    cases.push(Buffer.concat([prefix, hex(small.x + P), hex(small.y)]));
    for (const bad of cases) {
      const pem = pemOf(bad);
      expect(ours(pem)).toBe(openssl(pem));
    }
    expect(ours(pemOf(Buffer.concat([prefix, hex(small.x + P), hex(small.y)])))).toBe('refused');
    expect(cases.filter((bad) => ours(pemOf(bad)) === 'refused').length).toBeGreaterThanOrEqual(30);
  });
});

// What a registry stores and a CLI sends where a public key goes: the public key alone, never
// a private key (toPublicKey takes one for its public half), never other text around it.
describe('when a public key is taken where one is stored or sent (publicKeyPem, certificateChainPem)', () => {
  const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('gives the canonical SPKI PEM of one public key, whatever its line endings', () => {
    const { publicKey } = pair();
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(publicKeyPem(pem)).toBe(pem);
    expect(publicKeyPem(`\n${pem.replace(/\n/g, '\r\n')}\n\n`)).toBe(pem);
  });

  it('refuses a private key of every kind, saying so, and a public key with anything else beside it', () => {
    const { privateKey, publicKey } = pair();
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const privates = [privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), privateKey.export({ type: 'sec1', format: 'pem' }).toString(), privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString()];
    for (const key of privates) {
      expect(() => publicKeyPem(key)).toThrow(/private key/);
      expect(() => publicKeyPem(`${pub}${key}`)).toThrow(/private key/);
      expect(() => certificateChainPem(key)).toThrow(/private key/);
    }
    for (const text of [`${pub}${pub}`, `comment\n${pub}`, `${pub}trailing`, '', 'not a key']) expect(() => publicKeyPem(text), text).toThrow(/not one PEM public key/);
    expect(() => certificateChainPem(pub)).toThrow(/CERTIFICATE blocks only, not PUBLIC KEY/);
  });
});
