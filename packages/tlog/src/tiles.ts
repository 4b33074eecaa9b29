import { TlogError } from './errors.js';
import { checkHash, equalHashes, type Hash, hashChildren, hashLeaf, HASH_SIZE } from './hash.js';
import { checkSize, consistencyProof, consistencyProofNodes, type HashReader, inclusionProof, inclusionProofNodes, type NodeId } from './tree.js';

/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the tree served as static, cacheable tiles.
 * A tile at level L holds up to 256 consecutive Merkle tree hashes of tree level 8L; each is the
 * root of a full tile at level L - 1 (or a leaf hash at level 0).
 */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (2^TILE_HEIGHT); a full tile is 8,192 bytes. */
export const TILE_WIDTH = 256;
/** Highest tile level the spec allows in a path. */
export const MAX_TILE_LEVEL = 63;
/** An entry bundle prefixes each entry with a big-endian uint16 length, so no entry is larger. */
export const MAX_ENTRY_SIZE = 0xffff;

/** A tile: level L, index N, and width W (1..256; 256 is a full tile). */
export interface TileId {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** What a tile path names: a hash tile, or an entry bundle (`tile/entries/…`). */
export type TilePath = ({ readonly kind: 'hashes' } & TileId) | { readonly kind: 'entries'; readonly index: number; readonly width: number };

/**
 * The `<N>` path part: zero-padded 3-digit elements, all but the last prefixed with `x`.
 * @example encodeTileIndex(1234067) // 'x001/x234/067'
 */
export function encodeTileIndex(n: number): string {
  checkSize(n, 'tile index');
  const parts: string[] = [];
  do {
    parts.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new TlogError('TILE_INVALID', `tile width must be 1..${TILE_WIDTH}, got ${String(width)}`);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/**
 * Path of a hash tile, relative to the log prefix.
 * @example tilePath({ level: 0, index: 1234067, width: 12 }) // 'tile/0/x001/x234/067.p/12'
 */
export function tilePath(tile: TileId): string {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) throw new TlogError('TILE_INVALID', `tile level must be 0..${MAX_TILE_LEVEL}`);
  return `tile/${tile.level}/${encodeTileIndex(tile.index)}${widthSuffix(tile.width)}`;
}

/**
 * Path of the entry bundle for level-0 tile `index`, relative to the log prefix.
 * @example entriesPath(5, 256) // 'tile/entries/005'
 */
export function entriesPath(index: number, width: number): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

const LEVEL = /^(0|[1-9][0-9]?)$/;
const WIDTH = /^[1-9][0-9]{0,2}$/;
const INDEX = /^(?:x[0-9]{3}\/)*[0-9]{3}$/;

/**
 * Parses a tile or entry-bundle path strictly: only the canonical spelling is accepted (no
 * leading zeros in L or W, no `x000/` prefix, W below 256), so one tile has exactly one path
 * and a cache keyed by path cannot be poisoned by an alias.
 * @throws TlogError `TILE_INVALID`
 * @example parseTilePath('tile/1/x001/234.p/7') // { kind: 'hashes', level: 1, index: 1234, width: 7 }
 */
export function parseTilePath(path: string): TilePath {
  const bad = (): never => {
    throw new TlogError('TILE_INVALID', `not a tile path: ${JSON.stringify(path.slice(0, 100))}`);
  };
  if (path.length > 100 || !path.startsWith('tile/')) bad();
  const rest = path.slice('tile/'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) bad();
  const head = rest.slice(0, slash);
  let tail = rest.slice(slash + 1);
  let width = TILE_WIDTH;
  const partial = tail.indexOf('.p/');
  if (partial >= 0) {
    const w = tail.slice(partial + 3);
    if (!WIDTH.test(w) || Number(w) >= TILE_WIDTH) bad();
    width = Number(w);
    tail = tail.slice(0, partial);
  }
  if (!INDEX.test(tail)) bad();
  const index = Number(tail.replaceAll('x', '').replaceAll('/', ''));
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== tail) bad();
  if (head === 'entries') return { kind: 'entries', index, width };
  if (!LEVEL.test(head) || Number(head) > MAX_TILE_LEVEL) bad();
  return { kind: 'hashes', level: Number(head), index, width };
}

/**
 * Width of tile (level, index) in the tree of `size` leaves: 256 when full, 1..255 when partial,
 * 0 when the tile does not exist at that size (and must not be served).
 */
export function tileWidth(level: number, index: number, size: number): number {
  checkSize(size, 'tree size');
  const hashesAtLevel = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, hashesAtLevel - index * TILE_WIDTH));
}

/**
 * The partial tiles of a tree of `size` leaves (one per level at most): what a log serves for
 * each checkpoint besides the full tiles, which never change.
 * @example partialTiles(70000) // level 0 width 112, level 1 width 17, level 2 width 1
 */
export function partialTiles(size: number): TileId[] {
  checkSize(size, 'tree size');
  const out: TileId[] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    const width = hashes % TILE_WIDTH;
    if (width > 0) out.push({ level, index: Math.floor(hashes / TILE_WIDTH), width });
  }
  return out;
}

/**
 * The tile that holds node `id` in the tree of `size` leaves, and where: the node is the
 * complete subtree over hashes `[offset, offset + count)` of that tile. A node at a tree level
 * that is a multiple of 8 is one hash; one in between is rebuilt by hashing 2..128 of them.
 */
export function tileForNode(id: NodeId, size: number): { tile: TileId; offset: number; count: number } {
  const level = Math.floor(id.level / TILE_HEIGHT);
  const sub = id.level % TILE_HEIGHT;
  const count = 2 ** sub;
  const first = id.index * count;
  const index = Math.floor(first / TILE_WIDTH);
  const width = tileWidth(level, index, size);
  const offset = first - index * TILE_WIDTH;
  if (offset + count > width) throw new TlogError('TILE_INVALID', `node ${id.level}/${id.index} is not complete in a tree of size ${size}`);
  return { tile: { level, index, width }, offset, count };
}

/** The distinct tiles needed to read `ids` at tree size `size`: fetch these, then use a {@link TileHashReader}. */
export function tilesForNodes(ids: readonly NodeId[], size: number): TileId[] {
  const seen = new Map<string, TileId>();
  for (const id of ids) {
    const { tile } = tileForNode(id, size);
    seen.set(tilePath(tile), tile);
  }
  return [...seen.values()];
}

/**
 * The bytes of a hash tile, read from a node-hash store: its hashes concatenated.
 * @example readTile(store, { level: 0, index: 0, width: 256 }) // 8,192 bytes
 */
export function readTile(reader: HashReader, tile: TileId): Uint8Array {
  widthSuffix(tile.width);
  const ids = Array.from({ length: tile.width }, (_, i) => ({ level: tile.level * TILE_HEIGHT, index: tile.index * TILE_WIDTH + i }));
  const hashes = reader.readHashes(ids);
  if (hashes.length !== ids.length) throw new TlogError('NODE_MISSING', `the node-hash store returned ${hashes.length} hashes for a tile of ${ids.length}`);
  const out = new Uint8Array(tile.width * HASH_SIZE);
  hashes.forEach((h, i) => out.set(checkHash(h, `tile hash ${i}`), i * HASH_SIZE));
  return out;
}

/** Root of a complete subtree of 2^k hashes given left to right. */
function completeSubtree(hashes: Hash[]): Hash {
  let level = hashes;
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/**
 * Node hashes computed from tiles a client already has (fetched with {@link tilesForNodes}).
 * Tiles come from an untrusted server: a proof computed from them means nothing until it is
 * verified against a signed checkpoint's root (`verifyInclusion`, `verifyConsistency`), which
 * is what authenticates every tile hash it used.
 * @example
 * const ids = inclusionProofNodes(i, cp.size);
 * const tiles = await fetchAll(tilesForNodes(ids, cp.size)); // Map<path, bytes>
 * const proof = inclusionProof(i, cp.size, new TileHashReader(cp.size, (t) => tiles.get(tilePath(t))));
 * verifyInclusion(i, cp.size, leafHash, proof, cp.root);
 */
export class TileHashReader implements HashReader {
  constructor(
    private readonly size: number,
    private readonly getTile: (tile: TileId) => Uint8Array | undefined,
  ) {
    checkSize(size, 'tree size');
  }

  readHashes(ids: readonly NodeId[]): Hash[] {
    return ids.map((id) => {
      const { tile, offset, count } = tileForNode(id, this.size);
      const data = this.getTile(tile);
      if (!data) throw new TlogError('NODE_MISSING', `tile ${tilePath(tile)} is needed and not available`);
      if (data.length !== tile.width * HASH_SIZE) throw new TlogError('TILE_INVALID', `tile ${tilePath(tile)} is ${data.length} bytes, not ${tile.width * HASH_SIZE}`);
      const hashes = Array.from({ length: count }, (_, i) => data.slice((offset + i) * HASH_SIZE, (offset + i + 1) * HASH_SIZE));
      return completeSubtree(hashes);
    });
  }
}

/**
 * An entry bundle: each entry prefixed by its length as a big-endian uint16.
 * @throws TlogError `TILE_INVALID` for no entries, more than 256, or an entry over 65,535 bytes
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length < 1 || entries.length > TILE_WIDTH) throw new TlogError('TILE_INVALID', `an entry bundle holds 1..${TILE_WIDTH} entries, not ${entries.length}`);
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) throw new TlogError('TILE_INVALID', `an entry of ${e.length} bytes does not fit a uint16 length`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/**
 * Parses an entry bundle of exactly `width` entries, with nothing after the last.
 * @throws TlogError `TILE_INVALID`
 */
export function parseEntryBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  widthSuffix(width);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length === width) throw new TlogError('TILE_INVALID', `the entry bundle has more than ${width} entries`);
    if (at + 2 > bytes.length) throw new TlogError('TILE_INVALID', 'the entry bundle ends inside a length prefix');
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (at + 2 + length > bytes.length) throw new TlogError('TILE_INVALID', 'the entry bundle ends inside an entry');
    out.push(bytes.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (out.length !== width) throw new TlogError('TILE_INVALID', `the entry bundle has ${out.length} entries, not ${width}`);
  return out;
}

/**
 * Checks that entry `i` of a bundle hashes (RFC 6962 leaf hash) to hash `i` of the level-0
 * tile of the same index and width: how a monitor ties the entries it reads to the tree.
 * @throws TlogError `TILE_INVALID`
 */
export function checkEntryBundle(entries: readonly Uint8Array[], levelZeroTile: Uint8Array): void {
  if (levelZeroTile.length !== entries.length * HASH_SIZE) throw new TlogError('TILE_INVALID', `the level-0 tile has ${levelZeroTile.length / HASH_SIZE} hashes for ${entries.length} entries`);
  entries.forEach((entry, i) => {
    if (!equalHashes(hashLeaf(entry), levelZeroTile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))) {
      throw new TlogError('TILE_INVALID', `entry ${i} of the bundle does not hash to the tile's leaf hash`);
    }
  });
}

async function tileReaderFor(ids: readonly NodeId[], size: number, fetchTile: (tile: TileId, path: string) => Promise<Uint8Array>): Promise<TileHashReader> {
  const tiles = tilesForNodes(ids, size);
  const fetched = new Map<string, Uint8Array>();
  await Promise.all(
    tiles.map(async (tile) => {
      const path = tilePath(tile);
      fetched.set(path, await fetchTile(tile, path));
    }),
  );
  return new TileHashReader(size, (tile) => fetched.get(tilePath(tile)));
}

/**
 * An inclusion proof computed from tiles fetched with `fetchTile` (in parallel, each once).
 * The tiles are untrusted: verify the proof against a signed checkpoint before relying on it.
 * Errors of `fetchTile` propagate unchanged.
 * @example
 * const proof = await inclusionProofFromTiles(i, cp.size, (_, path) => get(`${prefix}/${path}`));
 * verifyInclusion(i, cp.size, leafHash, proof, cp.root);
 */
export async function inclusionProofFromTiles(index: number, size: number, fetchTile: (tile: TileId, path: string) => Promise<Uint8Array>): Promise<Hash[]> {
  const ids = inclusionProofNodes(index, size);
  return inclusionProof(index, size, await tileReaderFor(ids, size, fetchTile));
}

/**
 * A consistency proof computed from tiles of the newer tree (the older tree's nodes are all
 * complete in it). Untrusted until verified against both checkpoints.
 */
export async function consistencyProofFromTiles(oldSize: number, newSize: number, fetchTile: (tile: TileId, path: string) => Promise<Uint8Array>): Promise<Hash[]> {
  const ids = consistencyProofNodes(oldSize, newSize);
  return consistencyProof(oldSize, newSize, await tileReaderFor(ids, newSize, fetchTile));
}
