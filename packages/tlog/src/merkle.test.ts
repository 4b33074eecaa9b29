import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { EMPTY_ROOT, type Hash, hashLeaf } from './hash.js';
import { appendLeafHashes, consistencyProof, type HashReader, inclusionProof, MemoryHashStore, merkleTreeHash, type NodeId, treeRoot } from './tree.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.js';

interface Vectors {
  leafInputs: string[];
  nodeHashes: string[][];
  rootHashes: string[];
  inclusionProofs: { leaf: number; size: number; proof: string[] }[];
  consistencyProofs: { size1: number; size2: number; proof: string[] }[];
}
const vectors = JSON.parse(readFileSync(new URL('../test-vectors/rfc6962.json', import.meta.url), 'utf8')) as Vectors;
const hex = (h: string): Hash => Buffer.from(h, 'hex');
const toHex = (h: Uint8Array): string => Buffer.from(h).toString('hex');
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');


function vectorStore(): MemoryHashStore {
  const store = new MemoryHashStore();
  for (const input of vectors.leafInputs) store.append(hashLeaf(hex(input)));
  return store;
}

/** A distinct, seeded leaf hash per index. */
function leafAt(seed: number, i: number): Hash {
  return hashLeaf(createHash('sha256').update(`${seed}/${i}`).digest());
}

function storeOf(seed: number, n: number): MemoryHashStore {
  const store = new MemoryHashStore();
  for (let i = 0; i < n; i++) store.append(leafAt(seed, i));
  return store;
}

function flipBit(h: Hash, bit: number): Hash {
  const copy = Uint8Array.from(h);
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << bit % 8;
  return copy;
}

describe('when hashing the RFC 6962 test vectors', () => {
  it('gives the leaf hashes, every complete subtree and the root at every size 0..8', () => {
    const store = vectorStore();
    vectors.nodeHashes.forEach((level, l) => {
      const ids: NodeId[] = level.map((_, index) => ({ level: l, index }));
      expect(store.readHashes(ids).map(toHex)).toEqual(level);
    });
    vectors.rootHashes.forEach((root, size) => {
      expect(toHex(store.root(size))).toBe(root);
      const leaves = vectors.leafInputs.slice(0, size).map((input) => hashLeaf(hex(input)));
      expect(toHex(merkleTreeHash(leaves))).toBe(root);
    });
    expect(toHex(EMPTY_ROOT)).toBe(vectors.rootHashes[0]);
  });

  it('generates exactly the published inclusion proofs, and they verify', () => {
    const store = vectorStore();
    for (const v of vectors.inclusionProofs) {
      const proof = inclusionProof(v.leaf - 1, v.size, store);
      expect(proof.map(toHex)).toEqual(v.proof);
      const leafHash = hashLeaf(hex(vectors.leafInputs[v.leaf - 1]!));
      verifyInclusion(v.leaf - 1, v.size, leafHash, proof, hex(vectors.rootHashes[v.size]!));
    }
  });

  it('generates exactly the published consistency proofs, and they verify', () => {
    const store = vectorStore();
    for (const v of vectors.consistencyProofs) {
      const proof = consistencyProof(v.size1, v.size2, store);
      expect(proof.map(toHex)).toEqual(v.proof);
      verifyConsistency(v.size1, v.size2, proof, hex(vectors.rootHashes[v.size1]!), hex(vectors.rootHashes[v.size2]!));
    }
  });

  it('refuses every corruption of a published inclusion proof (the Trillian probes)', () => {
    for (const v of vectors.inclusionProofs) {
      const index = v.leaf - 1;
      const proof = v.proof.map(hex);
      const root = hex(vectors.rootHashes[v.size]!);
      const leafHash = hashLeaf(hex(vectors.leafInputs[index]!));
      const probes: [number, number, Hash, Hash[], Hash][] = [
        [index - 1, v.size, leafHash, proof, root],
        [index + 1, v.size, leafHash, proof, root],
        [index ^ 2, v.size, leafHash, proof, root],
        [index, v.size * 2, leafHash, proof, root],
        [index, Math.floor(v.size / 2), leafHash, proof, root],
        [index, v.size, hashLeaf(Buffer.from('WrongLeaf')), proof, root],
        [index, v.size, leafHash, proof, EMPTY_ROOT],
        [index, v.size, leafHash, proof, SOME_HASH],
        [index, v.size, leafHash, [...proof, root], root],
        [index, v.size, leafHash, [root, ...proof], root],
        ...proof.map((_, i): [number, number, Hash, Hash[], Hash] => [index, v.size, leafHash, proof.map((h, j) => (j === i ? flipBit(h, 3) : h)), root]),
        ...(proof.length > 0 ? [[index, v.size, leafHash, proof.slice(0, -1), root] as [number, number, Hash, Hash[], Hash]] : []),
        ...(proof.length > 1 ? [[index, v.size, leafHash, [proof[0]!, SOME_HASH, ...proof.slice(1)], root] as [number, number, Hash, Hash[], Hash]] : []),
      ];
      for (const [i, s, leaf, p, r] of probes) {
        expect(codeOf(() => verifyInclusion(i, s, leaf, p, r))).toBe('INCLUSION_PROOF_INVALID');
      }
    }
  });

  it('refuses every corruption of a published consistency proof', () => {
    for (const v of vectors.consistencyProofs.filter((p) => p.proof.length > 0)) {
      const proof = v.proof.map(hex);
      const r1 = hex(vectors.rootHashes[v.size1]!);
      const r2 = hex(vectors.rootHashes[v.size2]!);
      const probes: [number, number, Hash[], Hash, Hash][] = [
        [v.size1 - 1, v.size2, proof, r1, r2],
        [v.size1 + 1, v.size2, proof, r1, r2],
        [v.size1 ^ 2, v.size2, proof, r1, r2],
        [v.size1, v.size2 * 2, proof, r1, r2],
        [v.size1, Math.floor(v.size2 / 2), proof, r1, r2],
        [v.size1, v.size2, proof, SOME_HASH, r2],
        [v.size1, v.size2, proof, r1, SOME_HASH],
        [v.size1, v.size2, proof, r2, r1],
        [v.size1, v.size2, [], r1, r2],
        [v.size1, v.size2, [...proof, r1], r1, r2],
        [v.size1, v.size2, [...proof, r2], r1, r2],
        [v.size1, v.size2, [r1, ...proof], r1, r2],
        [v.size1, v.size2, [r2, ...proof], r1, r2],
        [v.size1, v.size2, [proof[0]!, ...proof], r1, r2],
        [v.size1, v.size2, proof.slice(0, -1), r1, r2],
        ...proof.map((_, i): [number, number, Hash[], Hash, Hash] => [v.size1, v.size2, proof.map((h, j) => (j === i ? flipBit(h, 4) : h)), r1, r2]),
      ];
      for (const [s1, s2, p, a, b] of probes) {
        expect(codeOf(() => verifyConsistency(s1, s2, p, a, b))).toBe('CONSISTENCY_PROOF_INVALID');
      }
    }
  });

  it('handles the trivial consistency cases: equal sizes, the empty tree, time travel', () => {
    const [a, b] = [SOME_HASH, EMPTY_ROOT];
    expect(codeOf(() => verifyConsistency(0, 0, [], a, a))).toBe('no error');
    expect(codeOf(() => verifyConsistency(0, 1, [], a, b))).toBe('no error');
    expect(codeOf(() => verifyConsistency(1, 1, [], b, b))).toBe('no error');
    expect(codeOf(() => verifyConsistency(0, 0, [], a, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(1, 1, [], a, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(1, 0, [], a, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(2, 1, [], a, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(1, 2, [], a, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(0, 0, [b], b, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(0, 1, [b], b, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(1, 1, [b], b, b))).toBe('CONSISTENCY_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(1, 2, [a], a, Buffer.from('short')))).toBe('CONSISTENCY_PROOF_INVALID');
  });

  it('never takes an interior node for a leaf (second preimage): its bytes hash as a leaf with the 0x00 prefix', () => {
    const store = new MemoryHashStore();
    const leaves = Array.from({ length: 4 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
    for (const l of leaves) store.append(l);
    const root = treeRoot(4, store);
    // Node (1, 0) is SHA-256(0x01 || leaf0 || leaf1); its "entry" would be leaf0 || leaf1 at index 0 of a 2-leaf view.
    const node = createHash('sha256').update(Uint8Array.of(1)).update(leaves[0]!).update(leaves[1]!).digest();
    const parentPath = [inclusionProof(0, 4, store)[1]!];
    expect(codeOf(() => verifyInclusion(0, 2, node, parentPath, root))).toBe('no error'); // what a caller trusting a given leaf hash would accept
    expect(codeOf(() => verifyInclusion(0, 2, hashLeaf(Buffer.concat([leaves[0]!, leaves[1]!])), parentPath, root))).toBe('INCLUSION_PROOF_INVALID');
    for (const [index, extra] of [[0, 1], [3, 1], [0, -1], [3, -1]] as const) {
      const proof = inclusionProof(index, 4, store);
      const changed = extra > 0 ? [...proof, leaves[0]!] : proof.slice(0, -1);
      expect(codeOf(() => verifyInclusion(index, 4, leaves[index]!, changed, root)), `${index} ${extra}`).toBe('INCLUSION_PROOF_INVALID');
    }
    expect(codeOf(() => verifyInclusion(4, 4, leaves[0]!, inclusionProof(0, 4, store), root))).toBe('INCLUSION_PROOF_INVALID');
  });

  it('refuses out-of-range inclusion inputs and over-long proofs before hashing', () => {
    const leaf = hashLeaf(Buffer.from('x'));
    expect(codeOf(() => verifyInclusion(0, 0, leaf, [], leaf))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyInclusion(0, 1, leaf, [], leaf))).toBe('no error');
    expect(codeOf(() => verifyInclusion(0, 1, Buffer.alloc(0), [], Buffer.alloc(0)))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyInclusion(1.5, 4, leaf, [], leaf))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyInclusion(0, 2 ** 60, leaf, [], leaf))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyInclusion(0, 2, leaf, [Buffer.alloc(31)], leaf))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => rootFromInclusionProof(0, 2, leaf, Array.from({ length: 129 }, () => leaf)))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(3, 2 ** 53, [leaf], leaf, leaf))).toBe('CONSISTENCY_PROOF_INVALID');
  });
});

describe('when generating proofs from a node-hash store', () => {
  it('refuses an index past the tree, a size the store does not have, and a store that misbehaves', () => {
    const store = storeOf(1, 10);
    expect(codeOf(() => inclusionProof(10, 10, store))).toBe('RANGE_INVALID');
    expect(codeOf(() => inclusionProof(-1, 10, store))).toBe('RANGE_INVALID');
    expect(codeOf(() => consistencyProof(11, 10, store))).toBe('RANGE_INVALID');
    expect(codeOf(() => inclusionProof(0, 11, store))).toBe('NODE_MISSING');
    expect(codeOf(() => treeRoot(12, store))).toBe('NODE_MISSING');
    const short: HashReader = { readHashes: (ids) => store.readHashes(ids).slice(1) };
    expect(codeOf(() => treeRoot(10, short))).toBe('NODE_MISSING');
    const wrongLength: HashReader = { readHashes: (ids) => ids.map(() => Buffer.alloc(31)) };
    expect(codeOf(() => treeRoot(10, wrongLength))).toBe('NODE_MISSING');
    const throwing: HashReader = {
      readHashes: () => {
        throw new Error('disk on fire');
      },
    };
    expect(codeOf(() => treeRoot(10, throwing))).toBe('NODE_MISSING');
    expect(toHex(treeRoot(0, throwing))).toBe(vectors.rootHashes[0]);
  });

  it('computes the same nodes with appendLeafHashes (batched, over any reader) as the memory store', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (seed, batches) => {
        const nodes = new Map<string, Hash>();
        const reader: HashReader = {
          readHashes: (ids) =>
            ids.map((id) => {
              const h = nodes.get(`${id.level}/${id.index}`);
              if (!h) throw new Error(`missing ${id.level}/${id.index}`);
              return h;
            }),
        };
        let size = 0;
        for (const count of batches) {
          const leaves = Array.from({ length: count }, (_, i) => leafAt(seed, size + i));
          for (const n of appendLeafHashes(size, leaves, reader)) nodes.set(`${n.level}/${n.index}`, n.hash);
          size += count;
        }
        const store = storeOf(seed, size);
        expect(toHex(treeRoot(size, reader))).toBe(toHex(store.root()));
        expect(nodes.size).toBe(2 * size - popcount(size));
      }),
      { numRuns: 40, seed: 4242 },
    );
  });
});

function popcount(n: number): number {
  let c = 0;
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2;
  return c;
}

/**
 * Every proof in a tree of `n` leaves (and at a smaller size `m`, read from the same store)
 * verifies; changing any one hash — leaf, proof element or root — makes it fail.
 */
function checkAllProofs(seed: number, n: number, mutateEvery: number): void {
  const store = storeOf(seed, n);
  const leaves = Array.from({ length: n }, (_, i) => leafAt(seed, i));
  const root = store.root();
  expect(toHex(root)).toBe(toHex(merkleTreeHash(leaves)));
  const roots = [EMPTY_ROOT];
  for (let m = 1; m <= n; m++) roots.push(treeRoot(m, store));
  for (let i = 0; i < n; i++) {
    const proof = inclusionProof(i, n, store);
    verifyInclusion(i, n, leaves[i]!, proof, root);
    if (i % mutateEvery === 0) {
      expect(codeOf(() => verifyInclusion(i, n, flipBit(leaves[i]!, i), proof, root))).toBe('INCLUSION_PROOF_INVALID');
      expect(codeOf(() => verifyInclusion(i, n, leaves[i]!, proof, flipBit(root, i)))).toBe('INCLUSION_PROOF_INVALID');
      proof.forEach((_, j) => {
        const bad = proof.map((h, k) => (k === j ? flipBit(h, i + j) : h));
        expect(codeOf(() => verifyInclusion(i, n, leaves[i]!, bad, root))).toBe('INCLUSION_PROOF_INVALID');
      });
    }
  }
  for (let m = 0; m <= n; m++) {
    const proof = consistencyProof(m, n, store);
    verifyConsistency(m, n, proof, roots[m]!, root);
    if (m > 0 && m < n && m % mutateEvery === 0) {
      expect(codeOf(() => verifyConsistency(m, n, proof, flipBit(roots[m]!, m), root))).toBe('CONSISTENCY_PROOF_INVALID');
      expect(codeOf(() => verifyConsistency(m, n, proof, roots[m]!, flipBit(root, m)))).toBe('CONSISTENCY_PROOF_INVALID');
      proof.forEach((_, j) => {
        const bad = proof.map((h, k) => (k === j ? flipBit(h, m + j) : h));
        expect(codeOf(() => verifyConsistency(m, n, bad, roots[m]!, root))).toBe('CONSISTENCY_PROOF_INVALID');
      });
    }
  }
  // Proofs at an older size, from a store that has grown since.
  const m = Math.max(1, Math.floor(n / 3));
  for (let i = 0; i < m; i += Math.max(1, Math.floor(m / 16))) {
    verifyInclusion(i, m, leaves[i]!, inclusionProof(i, m, store), roots[m]!);
  }
}

describe('when checking every proof over random trees of 1 to 2,000 leaves (property)', () => {
  it('verifies every inclusion and consistency proof, and refuses any changed hash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 1, max: 2000 }), (seed, n) => {
        checkAllProofs(seed, n, 7);
      }),
      { numRuns: 12, seed: 6962, examples: [[1, 1], [2, 2000], [3, 1024], [4, 1025]] },
    );
  }, 120_000);
});
