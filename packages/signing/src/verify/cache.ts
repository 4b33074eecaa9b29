import type { VerifiedEnvelope } from './types.js';

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

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = Math.max(1, Math.min(options.maxEntries ?? 1024, 1_000_000));
  }

  get size(): number {
    return this.entries.size;
  }

  /** @internal */
  get(key: string): VerifiedEnvelope | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
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
}
