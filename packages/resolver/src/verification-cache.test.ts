import { canonicalJson, sha256 } from '@sigil/manifest';
import { weatherManifest } from '@sigil/testing';
import { buildTrustedRoot, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, signManifestStatement } from '@sigil/signing/sign';
import { publicKeyFingerprint, SignerPolicy, VERIFIER_VERSION, VerificationCache, verifyManifestBundle, type SerializedCacheEntry, type SigningError } from '@sigil/signing/verify';
import { describe, expect, it } from 'vitest';

// The signature results a host keeps on disk (.sigil-cache/verified.json) are a cache, never a
// verdict: a hit must re-check the bundle's own payload and signature, and an entry made by
// another verifier version must not be used at all.
const ca = createCa({ name: 'Cache Test CA' });
const tsa = createTsa(ca);
const identity = 'mailto:release@acme.example';
const keys = generateKeyPair();
const publisher = createSigner({
  privateKey: keys.privateKeyPem,
  certificate: issueLeaf(ca, { publicKey: keys.publicKeyPem, identity }),
  timestamp: { responder: createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem }) },
});
const policy = SignerPolicy.parse({
  identities: [{ identity }, { identity: 'mailto:other@acme.example' }],
  trustedRoot: buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] }),
});
const manifest = weatherManifest();

async function warmEntries(): Promise<{ bundle: Record<string, unknown>; entries: SerializedCacheEntry[] }> {
  const bundle = (await signManifestStatement(manifest, publisher)) as unknown as Record<string, unknown>;
  const cache = new VerificationCache();
  verifyManifestBundle(bundle, manifest, policy, { cache });
  return { bundle, entries: cache.toJSON() };
}

describe('when signature results are read back from disk', () => {
  it('a genuine entry is a hit, carrying the verifier version in its key', async () => {
    const { bundle, entries } = await warmEntries();
    expect(entries[0]!.key.startsWith(`${VERIFIER_VERSION}:`)).toBe(true);
    const cache = new VerificationCache();
    cache.load(entries);
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).signer).toMatchObject({ kind: 'certificate', identity });
    expect(cache.misses).toBe(0);
  });

  it('an entry claiming another identity for the same certificate is not believed', async () => {
    const { bundle, entries } = await warmEntries();
    const cache = new VerificationCache();
    cache.load(entries.map((e) => ({ ...e, signer: { ...e.signer, identity: 'mailto:other@acme.example' } })));
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).signer).toMatchObject({ identity });
    expect(cache.toJSON()[0]!.signer).toMatchObject({ identity });
  });

  it('an entry whose payload is not the bundle own payload is not believed', async () => {
    const { bundle, entries } = await warmEntries();
    const cache = new VerificationCache();
    cache.load(entries.map((e) => ({ ...e, payload: Buffer.from('{"forged":true}').toString('base64') })));
    // Believed, the planted payload would not even parse as a statement (STATEMENT_INVALID).
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).signer).toMatchObject({ identity });
    expect(cache.toJSON()[0]!.payload).toBe(entries[0]!.payload);
  });

  it('an entry stating another bundle digest than the one it is keyed by is not believed', async () => {
    const { bundle, entries } = await warmEntries();
    const cache = new VerificationCache();
    // Believed, the planted digest would be returned as the bundle's (for an approval: the digest
    // counted against the lock and the signed status).
    cache.load(entries.map((e) => ({ ...e, bundleDigest: `sha256:${'0'.repeat(64)}` })));
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).bundleDigest).toBe(sha256(canonicalJson(bundle)));
    expect(cache.misses).toBe(0);
    expect(cache.toJSON()[0]!.bundleDigest).toBe(sha256(canonicalJson(bundle)));
  });

  it('an entry made by another verifier version is never used', async () => {
    const { bundle, entries } = await warmEntries();
    const cache = new VerificationCache();
    cache.load(entries.map((e) => ({ ...e, key: e.key.replace(`${VERIFIER_VERSION}:`, 'sigil-verify-1:') })));
    verifyManifestBundle(bundle, manifest, policy, { cache });
    expect(cache.misses).toBe(1);
  });

  it('an entry vouching for a certificate of another CA is not believed', async () => {
    const { bundle, entries } = await warmEntries();
    // Someone who can write the cache makes their own CA, a leaf with the publisher's identity, signs,
    // and plants a result copied from the genuine one with their leaf's key.
    const rogueCa = createCa({ name: 'Cache Test CA' });
    const rogueKeys = generateKeyPair();
    const rogue = createSigner({
      privateKey: rogueKeys.privateKeyPem,
      certificate: issueLeaf(rogueCa, { publicKey: rogueKeys.publicKeyPem, identity }),
      timestamp: { responder: createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem }) },
    });
    const forged = (await signManifestStatement(manifest, rogue)) as unknown as Record<string, unknown>;
    const genuine = entries[0]!;
    const original = sha256(canonicalJson(bundle));
    const forgedDigest = sha256(canonicalJson(forged));
    const planted = { ...genuine, key: `${genuine.key.slice(0, genuine.key.length - original.length)}${forgedDigest}`, bundleDigest: forgedDigest, signer: { ...genuine.signer, keyFingerprint: publicKeyFingerprint(rogueKeys.publicKeyPem) } };
    const cache = new VerificationCache();
    expect(cache.load([planted])).toBe(1);
    let code: string | undefined;
    try {
      verifyManifestBundle(forged, manifest, policy, { cache });
    } catch (e) {
      code = (e as SigningError).code;
    }
    expect(code).toBe('SIGNER_UNTRUSTED');
  });
});
