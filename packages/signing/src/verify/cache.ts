import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { VerifiedEnvelope, VerifiedSigner } from './types.js';
import { deferSchema } from '@sigil/manifest';

/** Shortest seal key accepted (bytes): as long as HMAC-SHA256's output, and the secret userSealKey makes. */
export const MIN_SEAL_KEY_BYTES = 32;

/** One kept result: what was verified, and whether this host vouches for it (see {@link VerificationCache}). */
interface Entry {
  value: VerifiedEnvelope;
  /** True: verified in this process, or read from a file sealed under this cache's key. */
  vouched: boolean;
}

/**
 * A bounded cache of cryptographic verification results, keyed by the trust material and the
 * bundle's digest. Only the policy-independent part is cached (signature, chain, timestamps):
 * the signer, subject and predicate checks run on every call, so a cached bundle is never
 * accepted under a policy that would refuse it.
 *
 * Sealed files. Kept on disk, a result is only a claim: without a seal key a hit re-checks the
 * bundle's own payload and its signature (see `verifyEnvelopeBundle`), which costs most of a full
 * verification's crypto. Given a `sealKey` (a secret of this host's, at least 32 bytes, kept where
 * only its user can read it: see `@sigil/resolver`'s `userSealKey`), {@link serialize} writes only
 * the results this host vouches for, with an HMAC-SHA256 under that key of the exact text that
 * holds them, and {@link deserialize} vouches for what it reads only when that seal verifies: each
 * result is then this host's own verifier's answer for exactly the bundle bytes and trust material
 * its key names, and it is used as it is (the payload is still compared with the bundle's own).
 * A file unsealed, sealed under another key or altered anywhere gives nothing but misses, and
 * each bundle is verified in full. The same holds for facts ({@link hasFact}).
 * @example
 * const cache = new VerificationCache({ maxEntries: 2048 });
 * for (const b of bundles) verifyManifestBundle(b.bundle, b.manifest, policy, { cache });
 */
export class VerificationCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();
  private readonly sealKey: Buffer | undefined;
  private missCount = 0;
  /** Facts this host vouches for (see {@link hasFact}), least recently recorded first. */
  private readonly facts = new Set<string>();
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
   * or read from a file sealed under this cache's key. With a seal key, an entry not vouched for
   * is a miss.
   */
  lookup(key: string): { value: VerifiedEnvelope; vouched: boolean } | undefined {
    const hit = this.entries.get(key);
    if (hit && (hit.vouched || this.sealKey === undefined)) {
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
    this.put(key, { value: Object.freeze(value) as VerifiedEnvelope, vouched: true });
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
   * ({@link addFact}), or read from a file sealed under this cache's key ({@link deserializeFacts}).
   */
  hasFact(fact: string): boolean {
    return this.facts.has(fact);
  }

  /** @internal Records a fact this process established (kept across processes only with a seal key). */
  addFact(fact: string): void {
    if (this.facts.has(fact)) return;
    this.facts.add(fact);
    while (this.facts.size > this.maxEntries) this.facts.delete(this.facts.values().next().value as string);
    this.newFacts++;
  }

  /** Facts recorded since this cache was made: a caller persisting them saves only when this is non-zero. */
  get factsAdded(): number {
    return this.newFacts;
  }

  /**
   * The facts this host vouches for as the text of a sealed file, or undefined without a seal key
   * (a fact read back is believed for its seal alone, so none is kept unsealed).
   */
  serializeFacts(): string | undefined {
    if (this.sealKey === undefined) return undefined;
    return sealedFile(this.sealKey, FACTS_FILE, JSON.stringify([...this.facts]));
  }

  /** Loads facts from a text written by {@link serializeFacts}: all of them when its seal verifies under this cache's key, else none. */
  deserializeFacts(text: string): number {
    const facts = jsonOf(this.sealKey === undefined ? undefined : openSealedFile(this.sealKey, FACTS_FILE, text));
    if (!Array.isArray(facts)) return 0;
    let loaded = 0;
    for (const fact of facts.slice(-this.maxEntries)) {
      if (typeof fact !== 'string' || this.facts.has(fact)) continue;
      this.facts.add(fact);
      loaded++;
    }
    while (this.facts.size > this.maxEntries) this.facts.delete(this.facts.values().next().value as string);
    return loaded;
  }

  /**
   * The cached results as plain JSON, most recently used last, so a host can keep them across
   * processes (verify chains and timestamps once per bundle, not once per start). Entries are
   * keyed by the verifier's version, the trust material's digest and the bundle's digest, so a
   * changed verifier, policy or bundle never hits; read back with {@link load}, a hit still
   * re-checks the payload against the bundle's own and the signature with the signer's key, so a
   * forged entry is only a miss.
   */
  toJSON(): SerializedCacheEntry[] {
    return [...this.entries].map(([key, { value }]) => serializedEntry(key, value));
  }

  /**
   * The kept results as the text of a file: with a seal key, only those this host vouches for,
   * sealed (see the class); without one, the JSON of {@link toJSON}.
   */
  serialize(): string {
    if (this.sealKey === undefined) return JSON.stringify(this.toJSON());
    const vouched: SerializedCacheEntry[] = [];
    for (const [key, { value, vouched: ok }] of this.entries) if (ok) vouched.push(serializedEntry(key, value));
    return sealedFile(this.sealKey, RESULTS_FILE, JSON.stringify(vouched));
  }

  /**
   * Loads a text written by {@link serialize} (or {@link toJSON}'s JSON). A file sealed under this
   * cache's key gives results vouched for; any other text gives claims, which without a seal key
   * are re-checked on use and with one are not used at all (so they are not even read).
   */
  deserialize(text: string): number {
    const sealed = text.startsWith(SEAL_PREFIX);
    const body = this.sealKey !== undefined ? openSealedFile(this.sealKey, RESULTS_FILE, text) : sealed ? sealedBody(text) : text;
    return this.loadEntries(jsonOf(body), this.sealKey !== undefined);
  }

  /**
   * Loads entries written by {@link toJSON}, as claims (see {@link deserialize}). Malformed entries
   * are skipped: the cache only ever saves work, a miss costs a full verification.
   */
  load(entries: unknown): number {
    return this.loadEntries(entries, false);
  }

  private loadEntries(entries: unknown, vouched: boolean): number {
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
      // A result this process verified stands over anything read.
      if (this.entries.get(key)?.vouched && !vouched) continue;
      const value = Object.freeze({ signer: signer as VerifiedSigner, payload: Buffer.from(payload, 'base64'), payloadType, bundleDigest }) as VerifiedEnvelope;
      this.put(key, { value, vouched });
      loaded++;
    }
    return loaded;
  }
}

/** The JSON value of `text`, or undefined when there is none or it is not JSON (a file that only costs its checks). */
function jsonOf(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function serializedEntry(key: string, v: VerifiedEnvelope): SerializedCacheEntry {
  return { key, signer: v.signer, payload: v.payload.toString('base64'), payloadType: v.payloadType, bundleDigest: v.bundleDigest };
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

/**
 * The libraries a verification and the manifest checks run on (zod decides where a plain test is
 * unsure), at the versions this verifier was reviewed with (a test holds it to what is installed,
 * so a dependency upgrade cannot land without changing it): part of what a seal covers, so an
 * upgrade, which may fix a check, never believes what older code sealed.
 */
export const VERIFIER_DEPENDENCIES = '@sigstore/bundle@4.0.0 @sigstore/core@3.2.1 @sigstore/protobuf-specs@0.5.2 @sigstore/verify@3.1.1 zod@4.6.7';

/** The code whose answer a sealed result is: the runtime (Node and its OpenSSL) and the libraries above. */
const VERIFIED_BY = `node ${process.version} openssl ${process.versions.openssl ?? ''} ${VERIFIER_DEPENDENCIES}`;

/** How a sealed file starts: `{"seal":"<43 characters of base64url>","<what>":`, then the body, then `}`. */
const SEAL_PREFIX = '{"seal":"';
const SEAL_LENGTH = 43;
/** The two kinds of sealed file, each with its own domain tag (a file of one kind never opens as the other). */
const RESULTS_FILE = { tag: 'sigil.verified.v2', field: 'entries' } as const;
const FACTS_FILE = { tag: 'sigil.facts.v1', field: 'facts' } as const;
type SealedKind = typeof RESULTS_FILE | typeof FACTS_FILE;

/**
 * The seal of a file's body: HMAC-SHA256 under the seal key of the file's domain tag, the code that
 * verified (Node, its OpenSSL and the Sigstore libraries: what other code wrote is never believed)
 * and the body's exact text. The body is JSON, so its text ends it: nothing can be appended.
 */
function sealOf(sealKey: Buffer, kind: SealedKind, body: string): string {
  return createHmac('sha256', sealKey).update(`${JSON.stringify([kind.tag, VERIFIED_BY])}\n`).update(body).digest('base64url');
}

/** A sealed file's whole text: valid JSON, `{"seal": …, "<field>": <body>}`. */
function sealedFile(sealKey: Buffer, kind: SealedKind, body: string): string {
  return `${SEAL_PREFIX}${sealOf(sealKey, kind, body)}","${kind.field}":${body}}`;
}

/** The body of a sealed file of this kind whose seal verifies under the key (compared in constant time), or undefined. */
function openSealedFile(sealKey: Buffer, kind: SealedKind, text: string): string | undefined {
  const body = sealedBody(text, kind);
  if (body === undefined) return undefined;
  const given = Buffer.from(text.slice(SEAL_PREFIX.length, SEAL_PREFIX.length + SEAL_LENGTH));
  const expected = Buffer.from(sealOf(sealKey, kind, body));
  return given.length === expected.length && timingSafeEqual(given, expected) ? body : undefined;
}

/** The body of a text laid out as a sealed file of this kind (default: of results), its seal not checked. */
function sealedBody(text: string, kind: SealedKind = RESULTS_FILE): string | undefined {
  const field = `","${kind.field}":`;
  const at = SEAL_PREFIX.length + SEAL_LENGTH;
  if (!text.startsWith(SEAL_PREFIX) || text.slice(at, at + field.length) !== field || !text.endsWith('}')) return undefined;
  return text.slice(at + field.length, -1);
}
