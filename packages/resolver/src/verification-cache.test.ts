import { canonicalJson, sha256 } from '@sigil/manifest';
import { weatherManifest } from '@sigil/testing';
import { buildTrustedRoot, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, signManifestStatement } from '@sigil/signing/sign';
import { DeferredSignatures, publicKeyFingerprint, SignerPolicy, VERIFIER_VERSION, VerificationCache, verifyManifestBundle, type SerializedCacheEntry, type SigningError } from '@sigil/signing/verify';
import { describe, expect, it, vi } from 'vitest';

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

describe('when the signature checks of kept results are deferred to the thread pool', () => {
  it('a genuine entry is a hit whose signature check is queued, and it settles true', async () => {
    const { bundle, entries } = await warmEntries();
    const cache = new VerificationCache();
    cache.load(entries);
    const deferred = new DeferredSignatures();
    expect(verifyManifestBundle(bundle, manifest, policy, { cache, deferred }).signer).toMatchObject({ identity });
    expect(deferred.size).toBe(1);
    expect(await deferred.settle()).toBe(true);
    expect(cache.misses).toBe(0);
  });

  it('a planted entry for a bundle whose signature does not hold settles false, and the same call without deferral refuses it', async () => {
    const { bundle, entries } = await warmEntries();
    // The genuine bundle with one byte of its signature changed: same payload, same certificate,
    // so every check of the kept result but the signature passes.
    const tampered = structuredClone(bundle) as { dsseEnvelope: { signatures: Array<{ sig: string }> } };
    const sig = Buffer.from(tampered.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1] = sig[sig.length - 1]! ^ 1;
    tampered.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    const genuine = entries[0]!;
    const original = sha256(canonicalJson(bundle));
    const tamperedDigest = sha256(canonicalJson(tampered));
    const cache = new VerificationCache();
    cache.load([{ ...genuine, key: `${genuine.key.slice(0, genuine.key.length - original.length)}${tamperedDigest}`, bundleDigest: tamperedDigest }]);
    const deferred = new DeferredSignatures();
    // Provisional: only the queued check can tell.
    verifyManifestBundle(tampered as unknown as Record<string, unknown>, manifest, policy, { cache, deferred });
    expect(await deferred.settle()).toBe(false);
    const refusal = (options: { cache?: VerificationCache }): string | undefined => {
      try {
        verifyManifestBundle(tampered as unknown as Record<string, unknown>, manifest, policy, options);
      } catch (e) {
        return (e as SigningError).code;
      }
      return undefined;
    };
    // The kept result is then a miss, and the full verification refuses as with no cache at all
    // (the timestamp, which covers the signature, is checked first).
    expect(refusal({ cache })).toBe('TIMESTAMP_INVALID');
    expect(refusal({})).toBe('TIMESTAMP_INVALID');
  });

  /** A publisher with a leaf of its own, under `issuer` (a certificate no earlier test of this process has checked). */
  function freshPublisher(issuer = ca) {
    const leafKeys = generateKeyPair();
    return {
      leafKeys,
      signer: createSigner({
        privateKey: leafKeys.privateKeyPem,
        certificate: issueLeaf(issuer, { publicKey: leafKeys.publicKeyPem, identity }),
        timestamp: { responder: createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem }) },
      }),
    };
  }

  /**
   * Kept results for bundles `issuer`'s fresh leaf signed (one per version), as a host's next
   * start finds them or someone who can write the store plants them: made from a genuine entry of
   * another leaf, with this leaf's key (and `signedAt`, when given).
   */
  async function keptForLeaf(issuer: typeof ca, versions: string[], signedAt?: string) {
    const { bundle, entries } = await warmEntries();
    const { leafKeys, signer } = freshPublisher(issuer);
    const genuine = entries[0]!;
    const original = sha256(canonicalJson(bundle));
    const cache = new VerificationCache();
    const kept = [];
    for (const version of versions) {
      const m = { ...manifest, version };
      const b = (await signManifestStatement(m, signer)) as unknown as Record<string, unknown>;
      const digest = sha256(canonicalJson(b));
      const keySigner = { ...genuine.signer, keyFingerprint: publicKeyFingerprint(leafKeys.publicKeyPem), ...(signedAt ? { signedAt } : {}) };
      cache.load([{ ...genuine, key: `${genuine.key.slice(0, genuine.key.length - original.length)}${digest}`, bundleDigest: digest, payload: (b as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, signer: keySigner }]);
      kept.push({ m, b });
    }
    return { cache, kept };
  }

  it('a leaf whose issuer this process already checked queues only its signatures', async () => {
    const { signer } = freshPublisher();
    const bundles = [];
    const entries: SerializedCacheEntry[] = [];
    for (const version of ['1.0.0', '1.0.1']) {
      const m = { ...manifest, version };
      const bundle = (await signManifestStatement(m, signer)) as unknown as Record<string, unknown>;
      const cache = new VerificationCache();
      // A full verification checks the CA's signature over the leaf (once per leaf and trust).
      verifyManifestBundle(bundle, m, policy, { cache });
      entries.push(...cache.toJSON());
      bundles.push({ m, bundle });
    }
    const cache = new VerificationCache();
    cache.load(entries);
    const first = new DeferredSignatures();
    const second = new DeferredSignatures();
    const queued = vi.spyOn(DeferredSignatures.prototype, 'add');
    verifyManifestBundle(bundles[0]!.bundle, bundles[0]!.m, policy, { cache, deferred: first });
    verifyManifestBundle(bundles[1]!.bundle, bundles[1]!.m, policy, { cache, deferred: second });
    expect(queued).toHaveBeenCalledTimes(2);
    queued.mockRestore();
    expect(await first.settle()).toBe(true);
    expect(await second.settle()).toBe(true);
    expect(cache.misses).toBe(0);
  });

  it("a leaf whose issuer this process has not checked has that check queued once for all its bundles, and each settles true", async () => {
    // Kept results for a leaf this process never verified (as a host's next start finds them):
    // made here from a genuine entry of another leaf, with this leaf's key and a signing time
    // inside its validity.
    const { cache, kept } = await keptForLeaf(ca, ['3.0.0', '3.0.1'], new Date().toISOString());
    const deferred = kept.map(() => new DeferredSignatures());
    const queued = vi.spyOn(DeferredSignatures.prototype, 'add');
    kept.forEach(({ m, b }, i) => verifyManifestBundle(b, m, policy, { cache, deferred: deferred[i]! }));
    // Three checks queued, not four: the issuer's once.
    expect(queued).toHaveBeenCalledTimes(3);
    queued.mockRestore();
    // The first: its signature and the leaf's issuer; the second: its signature, relying on the first's issuer check.
    expect(deferred[0]!.size).toBe(2);
    expect(deferred[1]!.size).toBe(2);
    expect(await deferred[0]!.settle()).toBe(true);
    expect(await deferred[1]!.settle()).toBe(true);
    expect(cache.misses).toBe(0);
  });

  it('a planted entry for a leaf of a rogue CA with the same name settles false for every bundle relying on it, and is refused without deferral', async () => {
    // Someone who can write the cache makes a CA named as the trusted one, a leaf with the
    // publisher's identity under it, signs two bundles and plants results copied from a genuine
    // one with their leaf's key. The leaf's issuer name matches the trusted CA: only the CA's
    // signature over the leaf, now checked on the thread pool, tells them apart.
    const { cache, kept: forged } = await keptForLeaf(createCa({ name: 'Cache Test CA' }), ['2.0.0', '2.0.1']);
    const deferred = forged.map(() => new DeferredSignatures());
    forged.forEach(({ m, b }, i) => verifyManifestBundle(b, m, policy, { cache, deferred: deferred[i]! }));
    expect(cache.misses).toBe(0);
    // Both provisional; the issuer check fails, and with it both.
    expect(await deferred[0]!.settle()).toBe(false);
    expect(await deferred[1]!.settle()).toBe(false);
    for (const { m, b } of forged) {
      let code: string | undefined;
      try {
        verifyManifestBundle(b, m, policy, { cache });
      } catch (e) {
        code = (e as SigningError).code;
      }
      expect(code).toBe('SIGNER_UNTRUSTED');
    }
  });

  it('a miss is verified in full at once, nothing queued', async () => {
    const { bundle } = await warmEntries();
    const deferred = new DeferredSignatures();
    verifyManifestBundle(bundle, manifest, policy, { cache: new VerificationCache(), deferred });
    expect(deferred.size).toBe(0);
    expect(await deferred.settle()).toBe(true);
  });
});

// With this host's seal key (see VerificationCache and userSealKey), a file of kept results sealed
// under it holds this verifier's own answers for these very bytes, used as they are; any other
// file gives only misses, each bundle verified in full.
describe('when kept results are sealed under this host’s key', () => {
  const sealKey = Buffer.alloc(32, 7);

  async function sealedFile(key: Uint8Array = sealKey) {
    const bundle = (await signManifestStatement(manifest, publisher)) as unknown as Record<string, unknown>;
    const cache = new VerificationCache({ sealKey: key });
    verifyManifestBundle(bundle, manifest, policy, { cache });
    return { bundle, text: cache.serialize(), entries: cache.toJSON() };
  }
  /** The file's entries, edited, under the file's own seal. */
  const editBody = (text: string, edit: (e: SerializedCacheEntry[]) => SerializedCacheEntry[]) => {
    const file = JSON.parse(text) as { seal: string; entries: SerializedCacheEntry[] };
    return JSON.stringify({ seal: file.seal, entries: edit(file.entries) });
  };

  it('a file sealed under the key gives hits with no signature check queued or run', async () => {
    const { bundle, text, entries } = await sealedFile();
    // Valid JSON: the seal, then the results.
    expect(JSON.parse(text)).toEqual({ seal: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), entries });
    const cache = new VerificationCache({ sealKey });
    expect(cache.deserialize(text)).toBe(1);
    const deferred = new DeferredSignatures();
    expect(verifyManifestBundle(bundle, manifest, policy, { cache, deferred }).signer).toMatchObject({ kind: 'certificate', identity });
    expect(deferred.size).toBe(0);
    expect(cache.misses).toBe(0);
    // Written back the same.
    expect(cache.serialize()).toBe(text);
  });

  it('without the key, the same file holds only claims: each signature is checked again', async () => {
    const { bundle, text } = await sealedFile();
    const cache = new VerificationCache();
    expect(cache.deserialize(text)).toBe(1);
    const deferred = new DeferredSignatures();
    verifyManifestBundle(bundle, manifest, policy, { cache, deferred });
    expect(deferred.size).toBe(1);
    expect(await deferred.settle()).toBe(true);
  });

  type CertificateSigner = Extract<SerializedCacheEntry['signer'], { kind: 'certificate' }>;
  const withSigner = (e: SerializedCacheEntry, change: Partial<CertificateSigner>): SerializedCacheEntry => ({ ...e, signer: { ...(e.signer as CertificateSigner), ...change } });
  const altered: Array<[string, (text: string) => string]> = [
    ['an unsealed file (a store written by another host, or by sigil before seals)', (t) => JSON.stringify((JSON.parse(t) as { entries: unknown }).entries)],
    ['a file sealed under another key', (t) => t],
    ['a sealed file whose result claims another identity', (t) => editBody(t, (es) => es.map((e) => withSigner(e, { identity: 'mailto:other@acme.example' })))],
    ['a sealed file whose result states another signing-key fingerprint', (t) => editBody(t, (es) => es.map((e) => withSigner(e, { keyFingerprint: 'SHA256:other' })))],
    ['a sealed file whose result names another CA', (t) => editBody(t, (es) => es.map((e) => withSigner(e, { ca: 'SHA256:other' })))],
    ['a sealed file whose result has another signing time', (t) => editBody(t, (es) => es.map((e) => withSigner(e, { signedAt: '2020-01-01T00:00:00.000Z' })))],
    ['a sealed file whose result has another payload', (t) => editBody(t, (es) => es.map((e) => ({ ...e, payload: Buffer.from('{"forged":true}').toString('base64') })))],
    ['a sealed file with a result added', (t) => editBody(t, (es) => [...es, { ...es[0]!, key: `${es[0]!.key}0` }])],
    ['a sealed file re-spaced', (t) => t.replace('"entries":[', '"entries": [')],
    ['a seal one character off', (t) => t.replace(/^\{"seal":"(.{42})(.)/, (_m, head: string, last: string) => `{"seal":"${head}${last === 'A' ? 'B' : 'A'}`)],
    ['a results file presented as a facts file', (t) => t.replace('"entries":', '"facts":')],
  ];

  it.each(altered)('%s gives only misses, and the bundle is verified in full', async (label, alter) => {
    const otherKey = label === 'a file sealed under another key';
    const { bundle, text } = await sealedFile(otherKey ? Buffer.alloc(32, 9) : sealKey);
    const planted = alter(text);
    expect(planted === text).toBe(otherKey);
    const cache = new VerificationCache({ sealKey });
    expect(cache.deserialize(planted)).toBe(0);
    const deferred = new DeferredSignatures();
    expect(verifyManifestBundle(bundle, manifest, policy, { cache, deferred }).signer).toMatchObject({ identity });
    expect(deferred.size).toBe(0);
    expect(cache.misses).toBe(1);
    // The full verification's own result is what is kept and sealed now, under this host's key.
    const again = new VerificationCache({ sealKey });
    expect(again.deserialize(cache.serialize())).toBe(1);
    verifyManifestBundle(bundle, manifest, policy, { cache: again });
    expect(again.misses).toBe(0);
    if (!otherKey) expect(cache.serialize()).toBe(text);
  });

  it('a result read as a claim is never written into a sealed file', async () => {
    const { entries } = await sealedFile();
    const cache = new VerificationCache({ sealKey });
    cache.load(entries);
    expect(JSON.parse(cache.serialize())).toEqual({ seal: expect.any(String), entries: [] });
  });

  it('a result verified in this process is a hit with no check queued, with or without a key', async () => {
    const bundle = (await signManifestStatement(manifest, publisher)) as unknown as Record<string, unknown>;
    for (const cache of [new VerificationCache(), new VerificationCache({ sealKey })]) {
      verifyManifestBundle(bundle, manifest, policy, { cache });
      const deferred = new DeferredSignatures();
      verifyManifestBundle(bundle, manifest, policy, { cache, deferred });
      expect(deferred.size).toBe(0);
      expect(cache.misses).toBe(1);
    }
  });

  it('a seal key shorter than 32 bytes is refused', () => {
    expect(() => new VerificationCache({ sealKey: Buffer.alloc(31) })).toThrow(RangeError);
  });
});

// Facts: a check's outcome for what the fact's text names (see VerificationCache.hasFact).
describe('facts this host vouches for', () => {
  const sealKey = Buffer.alloc(32, 7);

  it('are known in the process that recorded them, and across processes only from a file sealed under the key', () => {
    const first = new VerificationCache({ sealKey });
    expect(first.hasFact('v:a')).toBe(false);
    first.addFact('v:a');
    first.addFact('v:a');
    expect(first.hasFact('v:a')).toBe(true);
    expect(first.factsAdded).toBe(1);
    const text = first.serializeFacts()!;
    expect(JSON.parse(text)).toEqual({ seal: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), facts: ['v:a'] });
    const again = new VerificationCache({ sealKey });
    expect(again.deserializeFacts(text)).toBe(1);
    expect(again.hasFact('v:a')).toBe(true);
    expect(again.factsAdded).toBe(0);
    // Altered, under another key, as a results file, or without a key: nothing.
    const planted: Array<[VerificationCache, string]> = [
      [new VerificationCache({ sealKey }), text.replace('"v:a"', '"v:b"')],
      [new VerificationCache({ sealKey: Buffer.alloc(32, 8) }), text],
      [new VerificationCache({ sealKey }), text.replace('"facts":', '"entries":')],
      [new VerificationCache(), text],
    ];
    for (const [cache, t] of planted) {
      expect(cache.deserializeFacts(t)).toBe(0);
      expect(cache.hasFact('v:a') || cache.hasFact('v:b')).toBe(false);
    }
    // A results file sealed under the key is not a facts file.
    const results = new VerificationCache({ sealKey }).serialize();
    expect(new VerificationCache({ sealKey }).deserializeFacts(results.replace('"entries":', '"facts":'))).toBe(0);
    // Without a key nothing is kept across processes.
    const keyless = new VerificationCache();
    keyless.addFact('v:a');
    expect(keyless.hasFact('v:a')).toBe(true);
    expect(keyless.serializeFacts()).toBeUndefined();
  });

  it('skips what is not a fact in a sealed file', () => {
    const cache = new VerificationCache({ sealKey });
    cache.addFact('v:mine');
    const text = cache.serializeFacts()!;
    const other = new VerificationCache({ sealKey });
    expect(other.deserializeFacts('not json')).toBe(0);
    expect(other.deserializeFacts(text)).toBe(1);
    expect(other.hasFact('v:mine')).toBe(true);
  });
});
