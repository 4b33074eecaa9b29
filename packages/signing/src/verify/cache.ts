import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { VerifiedEnvelope, VerifiedSigner } from './types.js';
import { deferSchema } from '@sigil/manifest';

/** Shortest seal key accepted (bytes): HMAC-SHA256's own block of strength. */
export const MIN_SEAL_KEY_BYTES = 32;

/** One kept result: what was verified, and whether this host can vouch for it without checking again. */
interface Entry {
  value: VerifiedEnvelope;
  /** The seal read from disk (base64url HMAC-SHA256), when the entry came with one. */
  seal: string | undefined;
  /** True: verified in this process, or its seal verified under this cache's key; undefined: not asked yet. */
  vouched: boolean | undefined;
}

/**
 * A bounded cache of cryptographic verification results, keyed by the trust material and the
 * bundle's digest. Only the policy-independent part is cached (signature, chain, timestamps):
 * the signer, subject and predicate checks run on every call, so a cached bundle is never
 * accepted under a policy that would refuse it.
 * @example
 *
 * Sealed results. Kept on disk, a result is only a claim: without a seal key a hit re-checks the
 * bundle's own payload and its signature (see `verifyEnvelopeBundle`), which costs most of a full
 * verification's crypto. Given a `sealKey` (a secret of this host's, at least 32 bytes, kept where
 * only its user can read it: see `@sigil/resolver`'s `userSealKey`), the cache writes with each
 * result an HMAC-SHA256 of it under that key and its cache key (verifier version, trust material,
 * bundle digest), and a result read back is then used only when its seal verifies: it is this
 * host's own verifier's answer for exactly these bundle bytes under exactly this trust material,
 * and it is used as it is (the payload is still compared with the bundle's own). Any other entry,
 * unsealed, sealed under another key or altered, is a miss and the bundle is verified in full.
 * @example
 * const cache = new VerificationCache({ maxEntries: 2048 });
 * for (const b of bundles) verifyManifestBundle(b.bundle, b.manifest, policy, { cache });
 */
export class VerificationCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();
  private readonly sealKey: Buffer | undefined;
  private missCount = 0;
  /** Facts (see {@link hasFact}) by text: true once vouched for; a read seal is checked on first ask. */
  private readonly facts = new Map<string, { seal: string | undefined; vouched: boolean | undefined }>();
  private newFacts = 0;

  constructor(options: { maxEntries?: number; sealKey?: Uint8Array } = {}) {
    this.maxEntries = Math.max(1, Math.min(options.maxEntries ?? 1024, 1_000_000));
    if (options.sealKey !== undefined) {
      if (options.sealKey.byteLength < MIN_SEAL_KEY_BYTES) throw new RangeError(`a seal key has at least ${MIN_SEAL_KEY_BYTES} bytes`);
      this.sealKey = Buffer.from(options.sealKey);
    }
  }

  /** Whether results read back are trusted by their seal (a seal key was given). */
  get sealed(): boolean {
    return this.sealKey !== undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Lookups that found nothing since this cache was made: a caller persisting the cache saves only when this is non-zero. */
  get misses(): number {
    return this.missCount;
  }

  /** @internal The kept result for `key` (with a seal key: only one this host vouches for). */
  get(key: string): VerifiedEnvelope | undefined {
    return this.lookup(key)?.value;
  }

  /**
   * @internal The kept result for `key` and whether it is vouched for: verified in this process,
   * or sealed under this cache's key. With a seal key, an entry not vouched for is a miss.
   */
  lookup(key: string): { value: VerifiedEnvelope; vouched: boolean } | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      hit.vouched ??= this.sealKey !== undefined && hit.seal !== undefined && sealMatches(this.sealKey, key, hit.value, hit.seal);
      if (this.sealKey !== undefined && !hit.vouched) {
        this.missCount++;
        return undefined;
      }
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return { value: hit.value, vouched: hit.vouched };
    }
    this.missCount++;
    return undefined;
  }

  /** @internal A result this process verified in full. */
  set(key: string, value: VerifiedEnvelope): void {
    this.put(key, { value: Object.freeze(value) as VerifiedEnvelope, seal: undefined, vouched: true });
  }

  private put(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
    this.facts.clear();
  }

  /**
   * @internal Whether this host vouches for `fact`, the text of a check's outcome that is a pure
   * function of what the text names (a resolver records, for instance, that the manifest whose
   * canonical bytes have a given SHA-256 passed its checks): recorded by this process
   * ({@link addFact}), or read back with a seal under this cache's key. Never without a seal key
   * for a fact read back: there is nothing else to check a fact against.
   */
  hasFact(fact: string): boolean {
    const known = this.facts.get(fact);
    if (!known) return false;
    known.vouched ??= this.sealKey !== undefined && known.seal !== undefined && equalSeals(known.seal, factSeal(this.sealKey, fact));
    return known.vouched;
  }

  /** @internal Records a fact this process established (kept across processes only with a seal key). */
  addFact(fact: string): void {
    const known = this.facts.get(fact);
    if (known?.vouched) return;
    this.facts.delete(fact);
    this.facts.set(fact, { seal: undefined, vouched: true });
    while (this.facts.size > this.maxEntries) this.facts.delete(this.facts.keys().next().value as string);
    this.newFacts++;
  }

  /** Facts recorded since this cache was made: a caller persisting them saves only when this is non-zero. */
  get factsAdded(): number {
    return this.newFacts;
  }

  /** The facts this host vouches for, each with its seal (none without a seal key), most recent last. */
  factsToJSON(): Array<{ fact: string; seal: string }> {
    const key = this.sealKey;
    if (key === undefined) return [];
    const out: Array<{ fact: string; seal: string }> = [];
    for (const [fact, known] of this.facts) {
      if (known.vouched === true) out.push({ fact, seal: factSeal(key, fact) });
      else if (known.seal !== undefined && known.vouched === undefined) out.push({ fact, seal: known.seal });
    }
    return out;
  }

  /** Loads facts written by {@link factsToJSON}; malformed ones are skipped (a fact not vouched for only costs its check). */
  loadFacts(entries: unknown): number {
    if (!Array.isArray(entries)) return 0;
    let loaded = 0;
    for (const raw of entries.slice(-this.maxEntries)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const { fact, seal } = raw as { fact?: unknown; seal?: unknown };
      if (typeof fact !== 'string' || fact.length > 512 || typeof seal !== 'string' || seal.length > 64) continue;
      if (this.facts.get(fact)?.vouched === true) continue;
      this.facts.delete(fact);
      this.facts.set(fact, { seal, vouched: undefined });
      loaded++;
    }
    while (this.facts.size > this.maxEntries) this.facts.delete(this.facts.keys().next().value as string);
    return loaded;
  }

  /**
   * The cached results as plain JSON, most recently used last, so a host can keep them across
   * processes (verify chains and timestamps once per bundle, not once per start). Entries are
   * keyed by the verifier's version, the trust material's digest and the bundle's digest, so a
   * changed verifier, policy or bundle never hits; a hit still re-checks the payload against the
   * bundle's own and the signature with the signer's key, so a forged entry is only a miss. With a
   * seal key, each result this process vouches for is written with its seal; a result read without
   * a valid one is written back as it was read (it stays a miss).
   */
  toJSON(): SerializedCacheEntry[] {
    return [...this.entries].map(([key, { value: v, seal, vouched }]) => {
      const entry: SerializedCacheEntry = { key, signer: v.signer, payload: v.payload.toString('base64'), payloadType: v.payloadType, bundleDigest: v.bundleDigest };
      const written = this.sealKey !== undefined && vouched === true ? sealOf(this.sealKey, key, v) : seal;
      return written === undefined ? entry : { ...entry, seal: written };
    });
  }

  /**
   * Loads entries written by {@link toJSON}. Malformed entries are skipped: the cache only
   * ever saves work, a miss costs a full verification.
   */
  load(entries: unknown): number {
    if (!Array.isArray(entries)) return 0;
    let loaded = 0;
    for (const raw of entries.slice(-this.maxEntries)) {
      let entry: SerializedCacheEntry;
      if (plainCacheEntry(raw)) entry = raw;
      else {
        const parsed = SerializedCacheEntry.safeParse(raw);
        if (!parsed.success) continue;
        entry = parsed.data;
      }
      const { key, signer, payload, payloadType, bundleDigest, seal } = entry;
      const value = Object.freeze({ signer: signer as VerifiedSigner, payload: Buffer.from(payload, 'base64'), payloadType, bundleDigest }) as VerifiedEnvelope;
      this.put(key, { value, seal, vouched: this.sealKey === undefined ? false : undefined });
      loaded++;
    }
    return loaded;
  }
}

const SerializedSigner = deferSchema(() => z.union([
  z.strictObject({ kind: z.literal('key'), keyFingerprint: z.string().max(128) }),
  z.strictObject({
    kind: z.literal('certificate'),
    identity: z.string().max(1024),
    keyFingerprint: z.string().max(128),
    ca: z.string().max(128),
    caChain: z.array(z.string().max(128)).max(16),
    signedAt: z.string().max(64),
  }),
]));

/** One persisted verification result. */
export const SerializedCacheEntry = deferSchema(() => z.strictObject({
  key: z.string().max(256),
  signer: SerializedSigner,
  payload: z.string().max(256 * 1024),
  payloadType: z.string().max(256),
  bundleDigest: z.string().max(128),
  seal: z.string().max(64).optional(),
}));
export type SerializedCacheEntry = z.infer<typeof SerializedCacheEntry>;

/**
 * @internal SerializedCacheEntry's keys, written out so that a start builds no schema for the plain
 * test (see `deferSchema`); a test checks them against the schema.
 */
export const ENTRY_KEYS: ReadonlySet<string> = new Set(['key', 'signer', 'payload', 'payloadType', 'bundleDigest']);
/** @internal SerializedCacheEntry's optional key (a test checks it against the schema). */
export const ENTRY_SEAL_KEY = 'seal';
const KEY_SIGNER_KEYS: ReadonlySet<string> = new Set(['kind', 'keyFingerprint']);
const CERTIFICATE_SIGNER_KEYS: ReadonlySet<string> = new Set(['kind', 'identity', 'keyFingerprint', 'ca', 'caChain', 'signedAt']);

/**
 * True only when SerializedCacheEntry accepts `raw` as it is (every key of its shape present,
 * none other, each field as the schema bounds it): a host loads one entry per bundle at each
 * start. Anything else goes through zod, which decides.
 * @internal exported for its test
 */
export function plainCacheEntry(raw: unknown): raw is SerializedCacheEntry {
  if (!hasExactly(raw, ENTRY_KEYS, ENTRY_SEAL_KEY)) return false;
  const { key, signer, payload, payloadType, bundleDigest, seal } = raw;
  if (Object.hasOwn(raw, ENTRY_SEAL_KEY) && !bounded(seal, 64)) return false;
  if (!bounded(key, 256) || !bounded(payload, 256 * 1024) || !bounded(payloadType, 256) || !bounded(bundleDigest, 128)) return false;
  if (hasExactly(signer, KEY_SIGNER_KEYS)) return signer.kind === 'key' && bounded(signer.keyFingerprint, 128);
  if (!hasExactly(signer, CERTIFICATE_SIGNER_KEYS)) return false;
  const { kind, identity, keyFingerprint, ca, caChain, signedAt } = signer;
  if (kind !== 'certificate' || !bounded(identity, 1024) || !bounded(keyFingerprint, 128) || !bounded(ca, 128) || !bounded(signedAt, 64)) return false;
  if (!Array.isArray(caChain) || caChain.length > 16) return false;
  // An index loop, not every(): every() skips the holes of a sparse array, which zod refuses.
  for (let i = 0; i < caChain.length; i++) if (!bounded(caChain[i], 128)) return false;
  return true;
}

function bounded(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

/** A plain object holding exactly these own keys, and `optional` or not (zod's strict objects). */
function hasExactly(value: unknown, keys: ReadonlySet<string>, optional?: string): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const key of Object.keys(value)) {
    if (key === optional) continue;
    if (!keys.has(key)) return false;
    n++;
  }
  return n === keys.size;
}

/**
 * The libraries a verification runs on, at the versions this verifier was reviewed with (a test
 * holds it to what is installed, so a dependency upgrade cannot land without changing it): part of
 * what a seal covers, so an upgrade, which may fix a check, never believes what older code sealed.
 */
export const VERIFIER_DEPENDENCIES = '@sigstore/bundle@4.0.0 @sigstore/core@3.2.1 @sigstore/protobuf-specs@0.5.2 @sigstore/verify@3.1.1';

/** The code whose answer a sealed result is: the runtime (Node and its OpenSSL) and the libraries above. */
const VERIFIED_BY = `node ${process.version} openssl ${process.versions.openssl ?? ''} ${VERIFIER_DEPENDENCIES}`;

/**
 * What a seal covers, in a fixed order: a domain tag, the code that verified (Node, its OpenSSL and
 * the Sigstore libraries: a result of other code is never believed), the cache key (verifier
 * version, trust material, bundle digest) and every persisted field of the result, as a JSON
 * array (no key order to agree on; its closing bracket ends it), then the payload's own bytes,
 * whose length the array states.
 */
function sealOf(sealKey: Buffer, key: string, v: VerifiedEnvelope): string {
  const s = v.signer;
  const signer = s.kind === 'key' ? ['key', s.keyFingerprint] : ['certificate', s.identity, s.keyFingerprint, s.ca, s.caChain, s.signedAt];
  const head = JSON.stringify(['sigil.verified.v1', VERIFIED_BY, key, v.bundleDigest, v.payloadType, signer, v.payload.length]);
  return createHmac('sha256', sealKey).update(head).update(v.payload).digest('base64url');
}

function sealMatches(sealKey: Buffer, key: string, v: VerifiedEnvelope, seal: string): boolean {
  return equalSeals(seal, sealOf(sealKey, key, v));
}

/** A fact's seal: a domain tag of its own (no fact's seal is a result's), the code that checked, the fact. */
function factSeal(sealKey: Buffer, fact: string): string {
  return createHmac('sha256', sealKey).update(JSON.stringify(['sigil.fact.v1', VERIFIED_BY, fact])).digest('base64url');
}

/** Compared in constant time. */
function equalSeals(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
