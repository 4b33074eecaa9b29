import { TlogError } from './errors.js';
import { equalHashes, type Hash, hashChildren, HASH_SIZE } from './hash.js';


/**
 * The most hashes a proof may carry. An inclusion proof in a tree of at most 2^53 leaves has at
 * most 53, a consistency proof at most 2 * 53; anything longer is refused before hashing.
 */
export const MAX_PROOF_HASHES = 128;

/** A size or index as a proof refusal: out of range means the proof cannot verify. */
function checkNumber(n: number, what: string, code: 'INCLUSION_PROOF_INVALID' | 'CONSISTENCY_PROOF_INVALID'): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new TlogError(code, `${what} must be a non-negative integer below 2^53, got ${String(n)}`);
}

const lsb = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

function checkProof(proof: readonly Hash[], code: 'INCLUSION_PROOF_INVALID' | 'CONSISTENCY_PROOF_INVALID'): void {
  if (proof.length > MAX_PROOF_HASHES) throw new TlogError(code, `the proof has ${proof.length} hashes, more than ${MAX_PROOF_HASHES}`);
  for (const [i, h] of proof.entries()) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new TlogError(code, `proof hash ${i} is not ${HASH_SIZE} bytes`);
  }
}

/**
 * The root an inclusion proof leads to: RFC 9162 section 2.1.3.2, steps 1 to 6 (without the
 * final comparison). Refuses a proof of the wrong length for `index` and `size`.
 * @throws TlogError `INCLUSION_PROOF_INVALID`
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Hash, proof: readonly Hash[]): Hash {
  checkNumber(index, 'the leaf index', 'INCLUSION_PROOF_INVALID');
  checkNumber(size, 'the tree size', 'INCLUSION_PROOF_INVALID');
  if (index >= size) throw new TlogError('INCLUSION_PROOF_INVALID', `leaf index ${index} is not in a tree of size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw new TlogError('INCLUSION_PROOF_INVALID', `the leaf hash is not ${HASH_SIZE} bytes`);
  checkProof(proof, 'INCLUSION_PROOF_INVALID');
  // 2. fn = leaf_index, sn = tree_size - 1, r = hash.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  // 3. For each value p in the inclusion_path array:
  for (const p of proof) {
    // a. If sn is 0, the proof is too long.
    if (sn === 0) throw new TlogError('INCLUSION_PROOF_INVALID', 'the inclusion proof is longer than the path to the root');
    // b. If LSB(fn) is set, or if fn is equal to sn:
    if (lsb(fn) || fn === sn) {
      r = hashChildren(p, r);
      // until LSB(fn) is set or fn is 0: right-shift both
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 4. sn must be 0: a proof too short never reaches the root.
  if (sn !== 0) throw new TlogError('INCLUSION_PROOF_INVALID', 'the inclusion proof is shorter than the path to the root');
  return r;
}

/**
 * RFC 9162 section 2.1.3.2: verifies that the leaf with hash `leafHash` is at `index` in the
 * tree of `size` leaves whose root is `root`.
 * @throws TlogError `INCLUSION_PROOF_INVALID`
 * @example verifyInclusion(entry.logIndex, checkpoint.size, hashLeaf(body), proof, checkpoint.root)
 */
export function verifyInclusion(index: number, size: number, leafHash: Hash, proof: readonly Hash[], root: Hash): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalHashes(computed, root)) throw new TlogError('INCLUSION_PROOF_INVALID', 'the inclusion proof does not lead to the root');
}

/**
 * RFC 9162 section 2.1.4.2: verifies that the tree of `oldSize` leaves with root `oldRoot` is a
 * prefix of the tree of `newSize` leaves with root `newRoot`. Trivial cases first: equal sizes
 * need equal roots and an empty proof; the empty tree is a prefix of every tree.
 * @throws TlogError `CONSISTENCY_PROOF_INVALID`
 * @example verifyConsistency(stored.size, next.size, proof, stored.root, next.root)
 */
export function verifyConsistency(oldSize: number, newSize: number, proof: readonly Hash[], oldRoot: Hash, newRoot: Hash): void {
  checkNumber(oldSize, 'the old tree size', 'CONSISTENCY_PROOF_INVALID');
  checkNumber(newSize, 'the new tree size', 'CONSISTENCY_PROOF_INVALID');
  checkProof(proof, 'CONSISTENCY_PROOF_INVALID');
  const fail = (why: string): never => {
    throw new TlogError('CONSISTENCY_PROOF_INVALID', why);
  };
  if (oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) fail(`a root hash is not ${HASH_SIZE} bytes`);
  if (oldSize > newSize) fail(`the old tree size ${oldSize} is larger than the new one ${newSize}`);
  if (oldSize === newSize) {
    if (proof.length !== 0) fail('a consistency proof between equal sizes must be empty');
    if (!equalHashes(oldRoot, newRoot)) fail('two trees of the same size have different roots');
    return;
  }
  if (oldSize === 0) {
    if (proof.length !== 0) fail('a consistency proof from the empty tree must be empty');
    return;
  }
  // 1. If consistency_path is an empty array, stop and fail the proof verification.
  if (proof.length === 0) fail('the consistency proof is empty');
  // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  // 3. Set fn to first - 1 and sn to second - 1.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. For each subsequent value c in the consistency_path array:
  for (const c of path.slice(1)) {
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) fail('the consistency proof is longer than needed');
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (lsb(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // If LSB(fn) is not set, right-shift both fn and sn until either LSB(fn) is set or fn is 0.
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. fr must equal first_hash, sr second_hash, and sn must be 0.
  if (sn !== 0) fail('the consistency proof is shorter than needed');
  if (!equalHashes(fr, oldRoot)) fail('the consistency proof does not lead to the old root');
  if (!equalHashes(sr, newRoot)) fail('the consistency proof does not lead to the new root');
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}
