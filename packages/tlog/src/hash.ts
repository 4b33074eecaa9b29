import { hash, timingSafeEqual } from 'node:crypto';
import { TlogError } from './errors.js';

/** A SHA-256 Merkle tree hash: 32 bytes. */
export type Hash = Uint8Array;

/** Bytes in a hash (SHA-256, the only hash of RFC 6962 logs and C2SP tlog-tiles). */
export const HASH_SIZE = 32;

/**
 * The largest tree size and leaf index this package handles: 2^53 - 1, the largest integer a
 * JavaScript number holds exactly. A log appending a million entries a second reaches it in
 * 285 years.
 */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

/** Root of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1, MTH({})). */
export const EMPTY_ROOT: Hash = hash('sha256', new Uint8Array(0), 'buffer');

const leafInput = new Uint8Array(1 + 0xffff);

/**
 * RFC 6962 section 2.1 leaf hash: SHA-256(0x00 || entry). The 0x00 prefix keeps a leaf from
 * ever being taken for an interior node (second-preimage resistance).
 * @example hashLeaf(new TextEncoder().encode('{"kind":"hashedrekord",…}'))
 */
export function hashLeaf(entry: Uint8Array): Hash {
  // Entries fit a tile entry bundle (65,535 bytes): hash them from one reused buffer.
  const input = entry.length < leafInput.length ? leafInput : new Uint8Array(1 + entry.length);
  input[0] = 0x00;
  input.set(entry, 1);
  return hash('sha256', input.subarray(0, 1 + entry.length), 'buffer');
}


const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** RFC 6962 section 2.1 interior node hash: SHA-256(0x01 || left || right). */
export function hashChildren(left: Hash, right: Hash): Hash {
  // One reused input buffer: every node hash of an append or a proof goes through here.
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/** Constant-time equality of two hashes; false when the lengths differ. */
export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws `NODE_MISSING` unless `h` is a 32-byte hash. */
export function checkHash(h: Uint8Array | undefined, what: string): Hash {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new TlogError('NODE_MISSING', `${what} is not a ${HASH_SIZE}-byte hash`);
  }
  return h;
}
