import { createHash } from 'node:crypto';
import { canonicalJson } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import { publicKeyFingerprint } from '../keys.js';
import { parseTrustedRoot } from '../trusted-root.js';
import { createSigner, generateKeyPair, signManifestStatement } from '../sign/index.js';
import { codeOf, makeManifest, makePki } from '../testkit.js';
import { VERIFIER_VERSION } from './bundle.js';
import { VerificationCache } from './cache.js';
import { verifyManifestBundle } from './attestations.js';
import { SignerPolicy } from './policy.js';
import { compileTrust } from './trust.js';

// The trusted root's certificates are parsed on first use (a start whose every result is sealed
// needs none of them): a root whose certificates do not parse must still be refused wherever it
// was before, by a full verification and by the re-check of a kept claim alike.
describe('a trusted root whose certificate does not parse', () => {
  const keys = generateKeyPair();
  const manifest = makeManifest();
  const broken = () => {
    const root = structuredClone(makePki('Broken CA').trustedRoot) as { certificateAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }> };
    root.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes = Buffer.from('not a certificate').toString('base64');
    return SignerPolicy.parse({ publicKeys: [keys.publicKeyPem], trustedRoot: root });
  };

  it('compiles, and is refused (POLICY_INVALID) when its certificates are first read', () => {
    const trust = compileTrust(broken());
    expect(codeOf(() => trust.cas)).toBe('POLICY_INVALID');
    expect(codeOf(() => trust.material)).toBe('POLICY_INVALID');
  });

  it('is refused by a full verification of a key-signed bundle, and by the re-check of a kept claim for it', async () => {
    const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: keys.privateKeyPem }))) as unknown as Record<string, unknown>;
    const policy = broken();
    expect(codeOf(() => verifyManifestBundle(bundle, manifest, policy))).toBe('POLICY_INVALID');
    // A genuine result for the same bundle, kept under the broken root's trust id (as a store
    // written before the root was broken, or by anyone, would hold it): a claim, re-checked.
    const good = new VerificationCache();
    verifyManifestBundle(bundle, manifest, SignerPolicy.parse({ publicKeys: [keys.publicKeyPem] }), { cache: good });
    const [entry] = good.toJSON();
    const digest = entry!.key.slice(entry!.key.lastIndexOf(':sha256:') + 1);
    const claims = new VerificationCache();
    claims.load([{ ...entry!, key: `${VERIFIER_VERSION}:${compileTrust(policy).id}:${digest}` }]);
    expect(codeOf(() => verifyManifestBundle(bundle, manifest, policy, { cache: claims }))).toBe('POLICY_INVALID');
    expect(claims.misses).toBe(0);
  });
});

// Kept results are keyed by the trust material's id: how it is computed may change only if every
// host's kept results are meant to miss once. It is the SHA-256 of the canonical JSON of the
// policy's key fingerprints (sorted) and its parsed trusted root.
describe('the trust material id', () => {
  it('is the SHA-256 of canonicalJson({ keys, root }), with or without a root, whatever the order of the keys', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const root = makePki('Id CA').trustedRoot;
    for (const [keys, trustedRoot] of [[[a.publicKeyPem, b.publicKeyPem], root], [[b.publicKeyPem, a.publicKeyPem], root], [[a.publicKeyPem], undefined]] as const) {
      const policy = SignerPolicy.parse({ publicKeys: [...keys], ...(trustedRoot ? { trustedRoot } : {}) });
      const fingerprints = keys.map((k) => publicKeyFingerprint(k)).sort();
      const expected = createHash('sha256').update(canonicalJson({ keys: fingerprints, root: trustedRoot ? parseTrustedRoot(trustedRoot).json : null })).digest('hex');
      expect(compileTrust(policy).id).toBe(expected);
    }
  });
});
