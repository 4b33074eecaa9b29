import { z } from 'zod';
import type { VerifiedEnvelope, VerifiedSigner } from './types.js';
import { deferSchema } from '@sigil/manifest';

/**
 * A bounded cache of cryptographic verification results, keyed by the trust material and the
 * bundle's digest. Only the policy-independent part is cached (signature, chain, timestamps):
 * the signer, subject and predicate checks run on every call, so a cached bundle is never
 * accepted under a policy that would refuse it.
 * @example
 * const cache = new VerificationCache({ maxEntries: 2048 });
 * for (const b of bundles) verifyManifestBundle(b.bundle, b.manifest, policy, { cache });
 */
export class VerificationCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, VerifiedEnvelope>();
  private missCount = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = Math.max(1, Math.min(options.maxEntries ?? 1024, 1_000_000));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Lookups that found nothing since this cache was made: a caller persisting the cache saves only when this is non-zero. */
  get misses(): number {
    return this.missCount;
  }

  /** @internal */
  get(key: string): VerifiedEnvelope | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(key);
      this.entries.set(key, hit);
    } else this.missCount++;
    return hit;
  }

  /** @internal */
  set(key: string, value: VerifiedEnvelope): void {
    this.entries.delete(key);
    this.entries.set(key, Object.freeze(value) as VerifiedEnvelope);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * The cached results as plain JSON, most recently used last, so a host can keep them across
   * processes (verify chains and timestamps once per bundle, not once per start). Entries are
   * keyed by the verifier's version, the trust material's digest and the bundle's digest, so a
   * changed verifier, policy or bundle never hits; a hit still re-checks the payload against the
   * bundle's own and the signature with the signer's key, so a forged entry is only a miss.
   */
  toJSON(): SerializedCacheEntry[] {
    return [...this.entries].map(([key, v]) => ({ key, signer: v.signer, payload: v.payload.toString('base64'), payloadType: v.payloadType, bundleDigest: v.bundleDigest }));
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
      const { key, signer, payload, payloadType, bundleDigest } = entry;
      this.set(key, { signer: signer as VerifiedSigner, payload: Buffer.from(payload, 'base64'), payloadType, bundleDigest });
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
}));
export type SerializedCacheEntry = z.infer<typeof SerializedCacheEntry>;

/**
 * @internal SerializedCacheEntry's keys, written out so that a start builds no schema for the plain
 * test (see `deferSchema`); a test checks them against the schema.
 */
export const ENTRY_KEYS: ReadonlySet<string> = new Set(['key', 'signer', 'payload', 'payloadType', 'bundleDigest']);
const KEY_SIGNER_KEYS: ReadonlySet<string> = new Set(['kind', 'keyFingerprint']);
const CERTIFICATE_SIGNER_KEYS: ReadonlySet<string> = new Set(['kind', 'identity', 'keyFingerprint', 'ca', 'caChain', 'signedAt']);

/**
 * True only when SerializedCacheEntry accepts `raw` as it is (every key of its shape present,
 * none other, each field as the schema bounds it): a host loads one entry per bundle at each
 * start. Anything else goes through zod, which decides.
 * @internal exported for its test
 */
export function plainCacheEntry(raw: unknown): raw is SerializedCacheEntry {
  if (!hasExactly(raw, ENTRY_KEYS)) return false;
  const { key, signer, payload, payloadType, bundleDigest } = raw;
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

/** A plain object holding exactly these own keys (zod's strict objects: all required here). */
function hasExactly(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const key of Object.keys(value)) {
    if (!keys.has(key)) return false;
    n++;
  }
  return n === keys.size;
}
