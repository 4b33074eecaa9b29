import { availableParallelism } from 'node:os';
import { verify, type KeyObject } from 'node:crypto';

/**
 * The signature checks of kept verification results (see {@link VerificationCache}), collected
 * while the caller goes on with the rest of its checks and then run together, split between
 * libuv's thread pool (`crypto.verify` with a callback) and the caller's own thread. A host
 * resolving many locked servers re-checks two signatures per server at every start, about a
 * quarter of the per-server work, and none depends on another: on two cores both halves run at
 * once.
 *
 * Given to a verify function (`VerifyOptions.deferred`), the signature checks of re-checking a
 * kept result are queued here: the signature over the bundle's own payload with the key the
 * result names, and, for a leaf certificate not yet checked in this process, its CA's signature
 * over it (queued once per leaf and trust material; every other bundle of that leaf relies on the
 * same check, `rely`). Everything else (the payload compared, the leaf's identity, CA name and
 * validity, the signer allowed by the policy, subject and predicate) runs as before. A result so obtained is
 * provisional: the caller must `await settle()` before using it, and when that is false, set
 * every result obtained with this object aside and verify again without it (a failed check there
 * is then a miss, as without deferral, and the full verification decides). Full verifications
 * (a cache miss) are never deferred. One object per unit the caller would redo (the resolver: one
 * per locked server).
 * @example
 * const deferred = new DeferredSignatures();
 * let result = verifyApprovalBundle(bundle, subject, reviewers, { cache, deferred });
 * if (!(await deferred.settle())) result = verifyApprovalBundle(bundle, subject, reviewers, { cache });
 */
export class DeferredSignatures {
  readonly #pending: Array<Promise<boolean>> = [];

  /** Checks queued so far. */
  get size(): number {
    return this.#pending.length;
  }

  /**
   * Queues one check: what `crypto.verify(algorithm, data, key, signature)` answers (the same
   * call @sigstore/core makes). Any error counts as a failed check.
   * @internal
   */
  add(data: Buffer, key: KeyObject, signature: Uint8Array, algorithm?: string): Promise<boolean> {
    const check = new Promise<boolean>((resolve) => void queued.push({ data, key, signature, algorithm, resolve }));
    this.#pending.push(check);
    return check;
  }

  /**
   * Makes a check queued by another instance (a certificate's issuer signature, which every
   * bundle of that certificate relies on) one of this instance's own: its `settle()` is then
   * false when that check fails, whichever instance queued it.
   * @internal
   */
  rely(check: Promise<boolean>): void {
    this.#pending.push(check);
  }

  /** True when every queued check verified (none queued: true); false when any did not. */
  async settle(): Promise<boolean> {
    runQueued();
    const results = await Promise.all(this.#pending);
    return results.every((ok) => ok);
  }
}

interface Check {
  data: Buffer;
  key: KeyObject;
  signature: Uint8Array;
  /** The digest (`crypto.verify`'s first argument): a certificate's signature algorithm; undefined for DSSE, as @sigstore/core calls it. */
  algorithm: string | undefined;
  resolve: (ok: boolean) => void;
}

/** Checks of every instance not run yet: the first `settle()` runs them all, its own among them. */
const queued: Check[] = [];

/**
 * The share of the checks handed to the thread pool: as many parts as the cores beside the
 * caller's (at most the pool's 4 threads), the caller's thread taking one part itself. Handed
 * over one by one while the caller was still busy (interleaved with the next servers' checks),
 * each hand-over woke a pool thread that, on a loaded machine, took the caller's core for the
 * check's length: on two cores under other load that start took longer than checking everything
 * in place. Split at the end, the caller's thread is never preempted for a check it could have
 * run itself, and with a spare core the two halves take half the time.
 */
const POOL_SHARE = (() => {
  const cores = availableParallelism();
  const helpers = Math.min(Math.max(cores - 1, 0), 4);
  return helpers / (helpers + 1);
})();

function runQueued(): void {
  const checks = queued.splice(0);
  const handed = Math.floor(checks.length * POOL_SHARE);
  for (let i = 0; i < handed; i++) {
    const { data, key, signature, algorithm, resolve } = checks[i]!;
    try {
      verify(algorithm, data, key, signature, (error, ok) => resolve(error === null && ok === true));
    } catch {
      resolve(false);
    }
  }
  for (let i = handed; i < checks.length; i++) {
    const { data, key, signature, algorithm, resolve } = checks[i]!;
    let ok = false;
    try {
      ok = verify(algorithm, data, key, signature);
    } catch {
      ok = false;
    }
    resolve(ok);
  }
}
