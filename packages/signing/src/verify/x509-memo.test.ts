import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { createCa, createTsa, generateKeyPair, issueLeaf } from '../sign/index.js';
import { encodeDer, sharedCertificate } from './x509-memo.js';

const fixtures = fileURLToPath(new URL('../../fixtures', import.meta.url));

/** Every certificate (DER) in the real Sigstore material under fixtures/: Fulcio leaves and chains, CT logs' and TSAs' certificates. */
function fixtureCertificates(): Array<Buffer<ArrayBuffer>> {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'rawBytes' && typeof v === 'string') {
          const der = Buffer.from(v, 'base64');
          // A certificate is a SEQUENCE of three: tbsCertificate, signatureAlgorithm, signatureValue.
          try {
            if (ASN1Obj.parseBuffer(der).subs.length === 3) found.add(v);
          } catch {
            // not DER (a key, a checkpoint): skip
          }
        } else walk(v);
      }
    }
  };
  const dirs = [join(fixtures, 'npm'), ...readdirSync(join(fixtures, 'sigstore-conformance')).map((d) => join(fixtures, 'sigstore-conformance', d))];
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const file of files) {
      try {
        walk(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      } catch {
        // a fixture that is deliberately not JSON
      }
    }
  }
  return [...found].map((b64) => Buffer.from(b64, 'base64'));
}

/** A certificate of ours, as DER. */
const der = (pem: string): Buffer<ArrayBuffer> => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

describe('when a certificate is encoded again from its parsed tree', () => {
  const ca = createCa({ name: 'Acme CA' });
  const ours = [der(ca.certificatePem), der(createTsa(ca).certificatePem), der(issueLeaf(ca, { publicKey: generateKeyPair().publicKeyPem, identity: 'mailto:release@acme.example' }))];
  const real = fixtureCertificates();

  it('finds the real certificates it is checked on', () => {
    expect(real.length).toBeGreaterThanOrEqual(5);
  });

  it('gives byte for byte what @sigstore/core gives, for every node of every certificate', () => {
    let nodes = 0;
    const check = (node: ASN1Obj): void => {
      nodes++;
      expect(encodeDer(node).equals(ASN1Obj.prototype.toDER.call(node))).toBe(true);
      for (const sub of node.subs) check(sub);
    };
    for (const bytes of [...ours, ...real]) {
      const root = X509Certificate.parse(bytes).root;
      // DER input: the encoding is the input itself.
      expect(encodeDer(root).equals(bytes)).toBe(true);
      check(root);
    }
    expect(nodes).toBeGreaterThan(1000);
  });

  it('writes every length form DER has (short, one, two and three bytes)', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 70_000]) {
      const node = ASN1Obj.parseBuffer(Buffer.concat([Buffer.from([0x04]), lengthOf(size), Buffer.alloc(size, 0x30 + (size % 7))]));
      const wrapped = ASN1Obj.parseBuffer(Buffer.concat([Buffer.from([0x30]), lengthOf(node.toDER().length), node.toDER()]));
      expect(encodeDer(node).equals(node.toDER())).toBe(true);
      expect(encodeDer(wrapped).equals(wrapped.toDER())).toBe(true);
    }
  });

  it('memoises on shared certificates the encodings @sigstore/core would give', () => {
    for (const bytes of real) {
      const plain = X509Certificate.parse(bytes);
      const shared = sharedCertificate(bytes);
      expect(shared.tbsCertificate.toDER().equals(plain.tbsCertificate.toDER())).toBe(true);
      expect(shared.publicKey.equals(plain.publicKey)).toBe(true);
      expect(shared.root.toDER().equals(bytes)).toBe(true);
    }
  });
});

/** DER length octets (the test's own, independent of the encoder under test). */
function lengthOf(size: number): Buffer {
  if (size < 128) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
