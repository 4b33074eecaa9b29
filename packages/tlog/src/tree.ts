import { TlogError } from './errors.js';
import { checkHash, EMPTY_ROOT, type Hash, hashChildren, MAX_TREE_SIZE } from './hash.js';

/**
 * A complete subtree: the hash of leaves `[index * 2^level, (index + 1) * 2^level)`. Level 0
 * holds the leaf hashes. Only complete subtrees are ever stored: they never change once the
 * log has grown past them, so a store is append-only too.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A node hash to persist, as {@link appendLeafHashes} returns them. */
export interface StoredNode extends NodeId {
  readonly hash: Hash;
}

/**
 * Where the tree's node hashes live: memory ({@link MemoryHashStore}), a database table, or
 * tiles fetched from a log ({@link TileHashReader}). One batch call per proof, so a SQL store
 * answers with one query. Synchronous on purpose: a database store reads the nodes it will be
 * asked for first (the `*Nodes` functions name them), and the tree code runs without I/O.
 */
export interface HashReader {
  /** The hashes of `ids`, in the same order. Throw (or return a short array) when one is missing. */
  readHashes(ids: readonly NodeId[]): readonly Hash[];
}

/** Throws `RANGE_INVALID` unless `n` is an integer in [0, 2^53 - 1]. */
export function checkSize(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_TREE_SIZE) {
    throw new TlogError('RANGE_INVALID', `${what} must be an integer between 0 and ${MAX_TREE_SIZE}, got ${String(n)}`);
  }
  return n;
}

/** The largest power of two strictly less than `n` (n >= 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that make up leaves `[lo, hi)`, left to right, largest first. Every
 * range RFC 6962 hashes (a whole tree, or a right part D[k:n]) starts at a multiple of a power
 * of two at least as large as itself, so this greedy cut gives exactly MTH's shape.
 */
export function rangeNodes(lo: number, hi: number): NodeId[] {
  const nodes: NodeId[] = [];
  while (lo < hi) {
    let size = 1;
    let level = 0;
    while (lo % (size * 2) === 0 && size * 2 <= hi - lo) {
      size *= 2;
      level += 1;
    }
    nodes.push({ level, index: lo / size });
    lo += size;
  }
  return nodes;
}

/** MTH of a range from its complete subtrees (left to right): fold from the right. */
function foldRange(hashes: readonly Hash[]): Hash {
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = hashChildren(hashes[i]!, h);
  return h;
}

/** Reads the hashes of several ranges with one batch call and folds each. */
function rangeHashes(ranges: readonly (readonly [number, number])[], reader: HashReader): Hash[] {
  const perRange = ranges.map(([lo, hi]) => rangeNodes(lo, hi));
  const ids = perRange.flat();
  const hashes = readChecked(reader, ids);
  const out: Hash[] = [];
  let at = 0;
  for (const nodes of perRange) {
    out.push(foldRange(hashes.slice(at, at + nodes.length)));
    at += nodes.length;
  }
  return out;
}

function readChecked(reader: HashReader, ids: readonly NodeId[]): Hash[] {
  if (ids.length === 0) return [];
  let hashes: readonly Hash[];
  try {
    hashes = reader.readHashes(ids);
  } catch (cause) {
    if (cause instanceof TlogError) throw cause;
    throw new TlogError('NODE_MISSING', 'the node-hash store failed to read', { cause });
  }
  if (hashes.length !== ids.length) {
    throw new TlogError('NODE_MISSING', `the node-hash store returned ${hashes.length} hashes for ${ids.length} nodes`);
  }
  return ids.map((id, i) => checkHash(hashes[i], `node ${id.level}/${id.index}`));
}

/** The stored nodes {@link treeRoot} reads. */
export function treeRootNodes(size: number): NodeId[] {
  return rangeNodes(0, checkSize(size, 'tree size'));
}

/**
 * RFC 6962 section 2.1 Merkle Tree Hash of the first `size` leaves, from stored node hashes.
 * @example treeRoot(store.size, store) // the root a checkpoint signs
 */
export function treeRoot(size: number, reader: HashReader): Hash {
  checkSize(size, 'tree size');
  if (size === 0) return EMPTY_ROOT;
  return rangeHashes([[0, size]], reader)[0]!;
}

/**
 * RFC 6962 section 2.1.1 audit path (RFC 9162 section 2.1.3.1) for leaf `index` in the tree of
 * `size` leaves: sibling subtree hashes, bottom up.
 * @throws TlogError `RANGE_INVALID` when index >= size; `NODE_MISSING` from the store
 * @example inclusionProof(3, store.size, store)
 */
export function inclusionProof(index: number, size: number, reader: HashReader): Hash[] {
  return rangeHashes(inclusionRanges(index, size), reader);
}

/** The stored nodes {@link inclusionProof} reads: what a tile client fetches first. */
export function inclusionProofNodes(index: number, size: number): NodeId[] {
  return inclusionRanges(index, size).flatMap(([lo, hi]) => rangeNodes(lo, hi));
}

function inclusionRanges(index: number, size: number): [number, number][] {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  if (index >= size) throw new TlogError('RANGE_INVALID', `leaf index ${index} is not in a tree of size ${size}`);
  const ranges: [number, number][] = [];
  // PATH(m, D[lo:hi]), recursion unrolled from the top; the ranges are collected top down and
  // returned bottom up, as the proof lists them.
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index - lo < k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo = lo + k;
    }
  }
  return ranges.reverse();
}

/**
 * RFC 6962 section 2.1.2 consistency proof (RFC 9162 section 2.1.4.1) between the trees of
 * `oldSize` and `newSize` leaves. Empty when oldSize is 0 or equal to newSize.
 * @throws TlogError `RANGE_INVALID` when oldSize > newSize
 * @example consistencyProof(stored.size, store.size, store)
 */
export function consistencyProof(oldSize: number, newSize: number, reader: HashReader): Hash[] {
  return rangeHashes(consistencyRanges(oldSize, newSize), reader);
}

/** The stored nodes {@link consistencyProof} reads. */
export function consistencyProofNodes(oldSize: number, newSize: number): NodeId[] {
  return consistencyRanges(oldSize, newSize).flatMap(([lo, hi]) => rangeNodes(lo, hi));
}

function consistencyRanges(oldSize: number, newSize: number): [number, number][] {
  checkSize(oldSize, 'old tree size');
  checkSize(newSize, 'new tree size');
  if (oldSize > newSize) throw new TlogError('RANGE_INVALID', `old tree size ${oldSize} is larger than new tree size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const ranges: [number, number][] = [];
  // SUBPROOF(m, D[lo:hi], b), unrolled; `whole` is b: whether D[lo:hi] is the old tree itself,
  // whose root the verifier already has.
  let lo = 0;
  let hi = newSize;
  let whole = true;
  for (;;) {
    const m = oldSize - lo;
    const n = hi - lo;
    if (m === n) {
      if (!whole) ranges.push([lo, hi]);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo = lo + k;
      whole = false;
    }
  }
  return ranges.reverse();
}

/**
 * The node hashes to persist when `leafHashes` are appended to a tree of `size` leaves: each
 * leaf hash, and every subtree an append completes. Reads the left siblings it needs from
 * `reader` (nodes of this same batch are taken from the batch). Persist them all in the same
 * transaction as the new size.
 * @example
 * const nodes = appendLeafHashes(size, [hashLeaf(body)], store); // then INSERT them
 */
export function appendLeafHashes(size: number, leafHashes: readonly Hash[], reader: HashReader): StoredNode[] {
  checkSize(size, 'tree size');
  checkSize(size + leafHashes.length, 'new tree size');
  const pending = new Map<string, Hash>();
  const out: StoredNode[] = [];
  const key = (level: number, index: number): string => `${level}/${index}`;
  for (let i = 0; i < leafHashes.length; i++) {
    let index = size + i;
    let level = 0;
    let h = checkHash(leafHashes[i], `leaf hash ${i}`);
    out.push({ level, index, hash: h });
    pending.set(key(level, index), h);
    while (index % 2 === 1) {
      const leftKey = key(level, index - 1);
      const left = pending.get(leftKey) ?? readChecked(reader, [{ level, index: index - 1 }])[0]!;
      h = hashChildren(left, h);
      level += 1;
      index = (index - 1) / 2;
      out.push({ level, index, hash: h });
      pending.set(key(level, index), h);
    }
  }
  return out;
}

/**
 * RFC 6962 section 2.1 MTH computed from the definition over all the leaf hashes: what
 * `sigil log verify` re-derives from the entries, independent of any stored node.
 */
export function merkleTreeHash(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  const mth = (lo: number, hi: number): Hash => {
    if (hi - lo === 1) return leafHashes[lo]!;
    const k = splitPoint(hi - lo);
    return hashChildren(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

const CHUNK_NODES = 1 << 15;

/**
 * An in-memory node-hash store: every complete subtree hash, 32 bytes each in chunked buffers
 * (no object per node), so a million leaves take about 64 MB. For tests, benchmarks and
 * clients that rebuild a log from its entries; registries persist nodes in their database.
 * @example
 * const store = new MemoryHashStore();
 * store.append(hashLeaf(body));
 * inclusionProof(0, store.size, store);
 */
export class MemoryHashStore implements HashReader {
  // levels[l] is a list of chunks, each CHUNK_NODES hashes.
  private readonly levels: Uint8Array[][] = [];
  private leaves = 0;

  /** Number of leaves appended. */
  get size(): number {
    return this.leaves;
  }

  /** Appends one leaf hash; returns its index. */
  append(leafHash: Hash): number {
    const index = this.leaves;
    checkSize(index + 1, 'tree size');
    checkHash(leafHash, 'leaf hash');
    let h = leafHash;
    let level = 0;
    let i = index;
    this.put(level, i, h);
    while (i % 2 === 1) {
      h = hashChildren(this.view(level, i - 1), h);
      level += 1;
      i = (i - 1) / 2;
      this.put(level, i, h);
    }
    this.leaves = index + 1;
    return index;
  }

  /** The root over the first `size` leaves (default: all). */
  root(size: number = this.leaves): Hash {
    return treeRoot(size, this);
  }

  readHashes(ids: readonly NodeId[]): Hash[] {
    return ids.map(({ level, index }) => {
      if (level >= this.levels.length || (index + 1) * 2 ** level > this.leaves) {
        throw new TlogError('NODE_MISSING', `node ${level}/${index} is not in a tree of size ${this.leaves}`);
      }
      return this.get(level, index);
    });
  }

  /** A copy: callers never hold a view into the store. */
  private get(level: number, index: number): Hash {
    return this.view(level, index).slice();
  }

  private view(level: number, index: number): Hash {
    const chunk = this.levels[level]![Math.floor(index / CHUNK_NODES)]!;
    const at = (index % CHUNK_NODES) * 32;
    return chunk.subarray(at, at + 32);
  }

  private put(level: number, index: number, h: Hash): void {
    const chunks = (this.levels[level] ??= []);
    const c = Math.floor(index / CHUNK_NODES);
    const at = (index % CHUNK_NODES) * 32;
    let chunk = chunks[c];
    if (!chunk || chunk.length <= at) {
      // Chunks start small and double up to CHUNK_NODES hashes, so small trees stay small.
      const grown = new Uint8Array(Math.min(CHUNK_NODES * 32, Math.max(32 * 32, (chunk?.length ?? 0) * 2, at + 32)));
      if (chunk) grown.set(chunk);
      chunks[c] = chunk = grown;
    }
    chunk.set(h, at);
  }
}
