import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, createIntermediateCa, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, readCa, readPrivateKey, readPublicKey, SigningError, writeCa, writeKeyPair } from './index.js';
import { publicKeyFingerprint } from '../keys.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
/** Runs openssl and returns its exit status and output (the tests assert the status). */
const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

describe('when keys are generated and written', () => {
  it('writes a 0600 PKCS#8 private key and an SPKI public key, never overwriting', async () => {
    const pair = generateKeyPair();
    const path = join(dir, 'k.key');
    await writeKeyPair(path, pair);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(`${path}.pub`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(publicKeyFingerprint(await readPublicKey(`${path}.pub`))).toBe(pair.fingerprint);
    expect(publicKeyFingerprint(await readPrivateKey(path))).toBe(pair.fingerprint);
    await expect(writeKeyPair(path, pair)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    // openssl computes the same SPKI digest the fingerprint is made of.
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', `${path}.pub`, '-outform', 'DER']);
    const hex = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64').replace(/=+$/, '');
    expect(pair.fingerprint).toBe(`SHA256:${hex}`);
  });

  it('refuses a key that is not P-256', async () => {
    const rsa = file('rsa.key', execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']));
    await expect(readPrivateKey(rsa)).rejects.toMatchObject({ code: 'KEY_INVALID' });
    const p384 = file('p384.key', execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']));
    await expect(readPrivateKey(p384)).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });
});

describe('when an organisation runs its own CA', () => {
  const ca = createCa({ name: 'Acme Root CA' });
  const leafKeys = generateKeyPair();

  it('issues leaves that openssl verifies, with the SAN, codeSigning and a short life', () => {
    const caPath = file('ca.crt', ca.certificatePem);
    for (const identity of ['mailto:release@acme.example', 'https://github.com/acme/weather/.github/workflows/release.yml@refs/heads/main']) {
      const pem = issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity, days: 1 });
      const leafPath = file('leaf.crt', pem);
      const result = openssl('verify', '-CAfile', caPath, '-purpose', 'any', leafPath);
      expect(result.status, result.stderr).toBe(0);
      const cert = new X509Certificate(pem);
      expect(cert.subjectAltName).toContain(identity.replace(/^mailto:/, ''));
      expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']);
      expect(cert.ca).toBe(false);
      expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBeLessThanOrEqual(24 * 3600_000 + 5 * 60_000);
    }
  });

  it('chains leaves through an intermediate', () => {
    const intermediate = createIntermediateCa(ca, { name: 'Acme Release CA' });
    const leaf = file('leaf2.crt', issueLeaf(intermediate, { publicKey: leafKeys.publicKeyPem, identity: 'mailto:a@acme.example' }));
    const result = openssl('verify', '-CAfile', file('root.crt', ca.certificatePem), '-untrusted', file('int.crt', intermediate.certificatePem), leaf);
    expect(result.status, result.stderr).toBe(0);
    // Without the root, the chain does not verify.
    expect(openssl('verify', '-CAfile', file('int-only.crt', intermediate.certificatePem), leaf).status).not.toBe(0);
  });

  it('refuses a bad identity or validity', () => {
    for (const identity of ['release@acme.example', 'http://acme.example', 'mailto:a b@x.example']) {
      expect(() => issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity })).toThrow(SigningError);
    }
    expect(() => issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity: 'mailto:a@acme.example', days: 398 })).toThrow(SigningError);
  });

  it('writes and reads the CA directory, key 0600, never overwriting', async () => {
    const caDir = join(dir, 'ca-dir');
    await writeCa(caDir, ca);
    expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect((await readCa(caDir)).certificatePem).toBe(ca.certificatePem);
    await expect(writeCa(caDir, ca)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
  });

  it('parses the key text a caller already read and checked, not the file a second time', async () => {
    const caDir = join(dir, 'ca-swapped');
    await writeCa(caDir, ca);
    // The file now holds another key (as if swapped after the caller's check): only the given text is used.
    writeFileSync(join(caDir, 'ca.key'), generateKeyPair().privateKeyPem);
    await expect(readCa(caDir)).rejects.toMatchObject({ code: 'KEY_INVALID' });
    expect((await readCa(caDir, { privateKeyPem: ca.privateKeyPem })).privateKeyPem).toBe(ca.privateKeyPem);
  });
});

describe('when the timestamp responder answers', () => {
  const ca = createCa({ name: 'Acme Root CA' });
  const tsa = createTsa(ca);
  const respond = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
  const data = file('data.txt', 'the signature bytes');

  it('answers an openssl DER query with a token openssl ts -verify accepts', () => {
    const query = join(dir, 'q.tsq');
    expect(openssl('ts', '-query', '-data', data, '-sha256', '-cert', '-out', query).status).toBe(0);
    const reply = file('r.tsr', respond(readFileSync(query), 'application/timestamp-query'));
    const result = openssl('ts', '-verify', '-in', reply, '-queryfile', query, '-CAfile', file('tsa-ca.crt', ca.certificatePem));
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain('Verification: OK');
  });

  it('answers the Sigstore JSON request, verifiable against the data with the TSA certificate', () => {
    const hash = execFileSync('openssl', ['dgst', '-sha256', '-binary', data]).toString('base64');
    const reply = file('j.tsr', respond(Buffer.from(JSON.stringify({ artifactHash: hash, hashAlgorithm: 'sha256', nonce: 1234 })), 'application/json'));
    const ok = openssl('ts', '-verify', '-in', reply, '-data', data, '-CAfile', file('tsa-ca2.crt', ca.certificatePem), '-untrusted', file('tsa.crt', tsa.certificatePem));
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    const other = file('other.txt', 'other bytes');
    expect(openssl('ts', '-verify', '-in', reply, '-data', other, '-CAfile', file('tsa-ca3.crt', ca.certificatePem), '-untrusted', file('tsa2.crt', tsa.certificatePem)).status).not.toBe(0);
  });

  it.each([
    ['an empty body', Buffer.alloc(0), undefined],
    ['a body over the bound', Buffer.alloc(5000, 0x30), undefined],
    ['JSON of the wrong shape', Buffer.from('{"artifactHash":"abc"}'), 'application/json'],
    ['a hash of the wrong length', Buffer.from(JSON.stringify({ artifactHash: Buffer.alloc(20).toString('base64'), hashAlgorithm: 'sha256' })), 'application/json'],
    ['garbage DER', Buffer.from([0x30, 0x03, 0x02, 0x01]), 'application/timestamp-query'],
  ])('refuses %s', (_label, body, type) => {
    let code: string | undefined;
    try {
      respond(body, type);
    } catch (e) {
      code = (e as SigningError).code;
    }
    expect(code).toBe('TIMESTAMP_REQUEST_INVALID');
  });

  it('refuses to run with a key that is not the TSA certificate key, or a certificate without timeStamping', () => {
    expect(() => createTimestampResponder({ privateKey: generateKeyPair().privateKeyPem, certificateChain: tsa.chainPem })).toThrow(SigningError);
    const leafKeys = generateKeyPair();
    const leaf = issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity: 'mailto:a@acme.example' });
    expect(() => createTimestampResponder({ privateKey: leafKeys.privateKeyPem, certificateChain: leaf })).toThrow(SigningError);
  });
});
