import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { hashLeaf } from './hash.js';
import {
  checkEntryBundle,
  consistencyProofFromTiles,
  encodeEntryBundle,
  encodeTileIndex,
  entriesPath,
  inclusionProofFromTiles,
  parseEntryBundle,
  parseTilePath,
  partialTiles,
  readTile,
  TileHashReader,
  type TileId,
  tilePath,
  tilesForNodes,
  tileWidth,
} from './tiles.js';
import { consistencyProof, consistencyProofNodes, inclusionProof, inclusionProofNodes, MemoryHashStore, merkleTreeHash, treeRoot, treeRootNodes } from './tree.js';
import { verifyConsistency, verifyInclusion } from './verify.js';


const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// One store of 70,000 leaves (the spec's own example size), shared read-only by the tests.
const BIG = 70_000;
const big = new MemoryHashStore();
for (let i = 0; i < BIG; i++) big.append(hashLeaf(entry(i)));

describe('when naming tiles (C2SP tlog-tiles paths)', () => {
  it('encodes indexes in 3-digit elements with x prefixes, as the spec example', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 2, index: 5, width: 17 })).toBe('tile/2/005.p/17');
    expect(entriesPath(1234067, 112)).toBe('tile/entries/x001/x234/067.p/112');
    expect(codeOf(() => tilePath({ level: 0, index: 1, width: 0 }))).toBe('TILE_INVALID');
    expect(codeOf(() => tilePath({ level: 0, index: 1, width: 257 }))).toBe('TILE_INVALID');
    expect(codeOf(() => tilePath({ level: 64, index: 1, width: 1 }))).toBe('TILE_INVALID');
  });

  it('parses every path it writes back to the same tile', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 256 }), (level, index, width) => {
        expect(parseTilePath(tilePath({ level, index, width }))).toEqual({ kind: 'hashes', level, index, width });
        expect(parseTilePath(entriesPath(index, width))).toEqual({ kind: 'entries', index, width });
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('refuses every non-canonical or malformed spelling', () => {
    for (const path of [
      'tile/00/000',
      'tile/01/000',
      'tile/64/000',
      'tile/0/5',
      'tile/0/0005',
      'tile/0/x000/005',
      'tile/0/x1/005',
      'tile/0/001/002',
      'tile/0/x001',
      'tile/0/005.p/256',
      'tile/0/005.p/0',
      'tile/0/005.p/012',
      'tile/0/005.p/',
      'tile/0/005.p/1/2',
      'tile/0/005/',
      'tile/0/',
      'tile/0',
      'tile/-1/000',
      'tile/entries/x001',
      'tile/entries/000.p/256',
      'tiles/0/000',
      '/tile/0/000',
      'tile/0/' + 'x999/'.repeat(20) + '999',
    ]) {
      expect(codeOf(() => parseTilePath(path)), path).toBe('TILE_INVALID');
    }
  });

  it('lists the partial tiles of the spec examples (70,000 and 256 leaves)', () => {
    expect(partialTiles(70_000)).toEqual([
      { level: 0, index: 273, width: 112 },
      { level: 1, index: 1, width: 17 },
      { level: 2, index: 0, width: 1 },
    ]);
    expect(partialTiles(256)).toEqual([{ level: 1, index: 0, width: 1 }]);
    expect(partialTiles(0)).toEqual([]);
    expect(tileWidth(0, 272, 70_000)).toBe(256);
    expect(tileWidth(0, 273, 70_000)).toBe(112);
    expect(tileWidth(0, 274, 70_000)).toBe(0);
  });
});

describe('when the node store grows past one buffer chunk (32,768 hashes)', () => {
  it('still gives the root the RFC 6962 definition gives', () => {
    const leaves = Array.from({ length: BIG }, (_, i) => hashLeaf(entry(i)));
    expect(hex(big.root())).toBe(hex(merkleTreeHash(leaves)));
    expect(hex(big.root(32_769))).toBe(hex(merkleTreeHash(leaves.slice(0, 32_769))));
  });
});

describe('when computing hashes from tiles', () => {
  const tilesAt = (size: number) => {
    const cache = new Map<string, Uint8Array>();
    const fetched: string[] = [];
    const get = (t: TileId): Uint8Array => {
      const path = tilePath(t);
      fetched.push(path);
      let data = cache.get(path);
      if (!data) cache.set(path, (data = readTile(big, t)));
      return data;
    };
    return { reader: new TileHashReader(size, get), fetched };
  };

  it('gives the same roots and proofs as the node store, reading only the tiles it said it needs', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(1, 255, 256, 257, 511, 65_535, 65_536, 65_537, BIG), fc.integer({ min: 1, max: BIG })),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (size, at) => {
          const index = Math.floor(at * size);
          const old = Math.max(1, Math.floor(size / 3));
          const { reader, fetched } = tilesAt(size);
          const needed = new Set(
            tilesForNodes([...treeRootNodes(size), ...inclusionProofNodes(index, size), ...consistencyProofNodes(old, size)], size).map(tilePath),
          );
          expect(hex(treeRoot(size, reader))).toBe(hex(big.root(size)));
          const proof = inclusionProof(index, size, reader);
          expect(proof.map(hex)).toEqual(inclusionProof(index, size, big).map(hex));
          verifyInclusion(index, size, hashLeaf(entry(index)), proof, big.root(size));
          expect(consistencyProof(old, size, reader).map(hex)).toEqual(consistencyProof(old, size, big).map(hex));
          for (const path of fetched) expect(needed.has(path), path).toBe(true);
        },
      ),
      { numRuns: 40, seed: 9162 },
    );
  });

  it('refuses a missing tile, a tile of the wrong length, and a node the size does not complete', () => {
    const missing = new TileHashReader(1000, () => undefined);
    expect(codeOf(() => treeRoot(1000, missing))).toBe('NODE_MISSING');
    const short = new TileHashReader(1000, (t) => readTile(big, t).slice(1));
    expect(codeOf(() => treeRoot(1000, short))).toBe('TILE_INVALID');
    const { reader } = tilesAt(1000);
    expect(codeOf(() => reader.readHashes([{ level: 10, index: 0 }]))).toBe('TILE_INVALID');
  });

  it('serves tile bytes that are the concatenated hashes, so a forged tile fails the proof', () => {
    const tile = readTile(big, { level: 0, index: 0, width: 256 });
    expect(tile.length).toBe(8192);
    expect(hex(tile.subarray(32, 64))).toBe(hex(hashLeaf(entry(1))));
    const size = 1000;
    const forged = new TileHashReader(size, (t) => {
      const data = readTile(big, t);
      if (t.level === 0) data[40]! ^= 1;
      return data;
    });
    const proof = inclusionProof(0, size, forged);
    expect(codeOf(() => verifyInclusion(0, size, hashLeaf(entry(0)), proof, big.root(size)))).toBe('INCLUSION_PROOF_INVALID');
  });
});

describe('when bundling entries', () => {
  it('round-trips a bundle and ties it to the level-0 tile', () => {
    const entries = Array.from({ length: 112 }, (_, i) => entry(69_888 + i));
    entries[3] = new Uint8Array(0);
    const bytes = encodeEntryBundle(entries);
    expect(parseEntryBundle(bytes, 112).map(hex)).toEqual(entries.map(hex));
    const real = Array.from({ length: 112 }, (_, i) => entry(69_888 + i));
    checkEntryBundle(parseEntryBundle(encodeEntryBundle(real), 112), readTile(big, { level: 0, index: 273, width: 112 }));
    expect(codeOf(() => checkEntryBundle(entries, readTile(big, { level: 0, index: 273, width: 112 })))).toBe('TILE_INVALID');
    expect(codeOf(() => checkEntryBundle(real, readTile(big, { level: 0, index: 273, width: 111 })))).toBe('TILE_INVALID');
  });

  it('writes a big-endian uint16 length before each entry', () => {
    const long = new Uint8Array(0x1234).fill(7);
    const bytes = encodeEntryBundle([long, Uint8Array.of(9)]);
    expect([...bytes.subarray(0, 2)]).toEqual([0x12, 0x34]);
    expect([...bytes.subarray(2 + 0x1234)]).toEqual([0, 1, 9]);
  });

  it('refuses malformed bundles and entries that do not fit', () => {
    const bytes = encodeEntryBundle([entry(1), entry(2)]);
    expect(codeOf(() => parseEntryBundle(bytes, 1))).toBe('TILE_INVALID');
    expect(codeOf(() => parseEntryBundle(bytes, 3))).toBe('TILE_INVALID');
    expect(codeOf(() => parseEntryBundle(bytes.subarray(0, bytes.length - 1), 2))).toBe('TILE_INVALID');
    expect(codeOf(() => parseEntryBundle(Uint8Array.of(...bytes, 0), 2))).toBe('TILE_INVALID');
    expect(codeOf(() => parseEntryBundle(bytes, 0))).toBe('TILE_INVALID');
    expect(codeOf(() => encodeEntryBundle([new Uint8Array(0x10000)]))).toBe('TILE_INVALID');
    expect(codeOf(() => encodeEntryBundle([]))).toBe('TILE_INVALID');
    expect(codeOf(() => encodeEntryBundle(Array.from({ length: 257 }, () => entry(0))))).toBe('TILE_INVALID');
    expect(hex(createHash('sha256').update(encodeEntryBundle([new Uint8Array(0xffff)])).digest()).length).toBe(64);
  });
});

describe('when a client computes proofs from tiles it fetches', () => {
  it('fetches each needed tile once, by its path, and gets proofs that verify', async () => {
    const size = 69_999;
    const fetched: string[] = [];
    const fetchTile = async (tile: TileId, path: string): Promise<Uint8Array> => {
      expect(path).toBe(tilePath(tile));
      fetched.push(path);
      return readTile(big, tile);
    };
    const proof = await inclusionProofFromTiles(12_345, size, fetchTile);
    verifyInclusion(12_345, size, hashLeaf(entry(12_345)), proof, big.root(size));
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(fetched).toContain('tile/0/048');
    fetched.length = 0;
    const consistency = await consistencyProofFromTiles(1000, size, fetchTile);
    verifyConsistency(1000, size, consistency, big.root(1000), big.root(size));
    expect(new Set(fetched).size).toBe(fetched.length);
  });

  it('lets a forged tile through only as a proof that fails, and passes fetch errors on', async () => {
    const size = 5000;
    const forged = await inclusionProofFromTiles(7, size, async (tile) => {
      const data = readTile(big, tile);
      if (tile.level === 1) data[32]! ^= 1; // hash 1: leaves 256..511, a sibling on the path of leaf 7
      return data;
    });
    expect(codeOf(() => verifyInclusion(7, size, hashLeaf(entry(7)), forged, big.root(size)))).toBe('INCLUSION_PROOF_INVALID');
    await expect(inclusionProofFromTiles(7, size, () => Promise.reject(new Error('network down')))).rejects.toThrow('network down');
    const short = inclusionProofFromTiles(7, size, async (tile) => readTile(big, tile).subarray(32));
    await expect(short).rejects.toMatchObject({ code: 'TILE_INVALID' });
  });
});
