import { type CheckpointRow, checkpointAt, latestCheckpoint, logEntriesFor, logEntriesForAny, logEntriesRange, logEntryAt, logEntryByLeafHash, logHashes, type LogEntryRow, versionOf } from '@sigil/db';
import {
  buildTlogEntry,
  consistencyProof,
  consistencyProofNodes,
  ed25519NoteVerifier,
  ed25519PublicKeyBytes,
  encodeEntryBundle,
  inclusionProof,
  inclusionProofNodes,
  keyHash,
  logOrigin,
  openCheckpoint,
  parseTilePath,
  readTile,
  SIG_TYPE_ED25519,
  TILE_HEIGHT,
  TILE_WIDTH,
  tileWidth,
  TlogError,
  type TlogEntryJson,
  transparencyLogInstance,
  treeRoot,
  treeRootNodes,
} from '@sigil/tlog';
import type { LogProofsResponse } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { checkpointer } from './sign-checkpoint.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** The log's `logId.keyId` bytes: SHA-256(origin || 0x0A || 0x01 || Ed25519 key). */
export function logId(deps: Deps): Uint8Array {
  return keyHash(logOrigin(deps.settings.tlogUrl), SIG_TYPE_ED25519, ed25519PublicKeyBytes(deps.keys.logPublicKey));
}

/** The log as a Sigstore trusted root lists it (`tlogs` item). */
export function logInstance(deps: Deps) {
  return transparencyLogInstance({ baseUrl: deps.settings.tlogUrl, publicKey: deps.keys.logPublicKey, validFrom: new Date(deps.keys.logCreatedAt), operator: logOrigin(deps.settings.tlogUrl) });
}

/** The newest signed checkpoint (an empty log's is signed on first read). */
export async function readCheckpoint(deps: Deps): Promise<CheckpointRow> {
  return (await latestCheckpoint(deps.db)) ?? checkpointer(deps).signNow();
}

/**
 * A C2SP tlog-tiles resource below the newest checkpoint: `tile/<L>/<N>[.p/<W>]` (hashes) or
 * `tile/entries/<N>[.p/<W>]` (entry bundle). Only what a signed checkpoint covers is served, so
 * every response is immutable. NOT_FOUND beyond it, REQUEST_INVALID for a non-canonical path.
 */
export async function readTileResource(deps: Deps, path: string): Promise<Uint8Array> {
  let tile;
  try {
    tile = parseTilePath(path);
  } catch (cause) {
    throw new ServiceError('REQUEST_INVALID', `not a canonical tile path: ${cause instanceof TlogError ? cause.message : 'malformed'}`, {}, { cause });
  }
  const size = (await readCheckpoint(deps)).size;
  const level = tile.kind === 'hashes' ? tile.level : 0;
  const available = tileWidth(level, tile.index, size);
  // Any width up to what the newest signed tree holds: those hashes never change.
  if (tile.width > available) throw new ServiceError('NOT_FOUND', `the log's newest checkpoint (size ${size}) does not cover ${path}`);
  if (tile.kind === 'hashes') {
    const ids = Array.from({ length: tile.width }, (_, i) => ({ level: tile.level * TILE_HEIGHT, index: tile.index * TILE_WIDTH + i }));
    return readTile(await logHashes(deps.db, ids), { level: tile.level, index: tile.index, width: tile.width });
  }
  const from = tile.index * TILE_WIDTH;
  return encodeEntryBundle((await logEntriesRange(deps.db, from, from + tile.width)).map((e) => e.body));
}

/** How `GET /v1/log/proof?leaf=` names a leaf: its index, its leaf hash (64 hex), or `name@version` (the manifest's dsse entry). */
async function findLeaf(deps: Deps, leaf: string): Promise<LogEntryRow> {
  let row: LogEntryRow | undefined;
  if (/^(0|[1-9][0-9]{0,15})$/.test(leaf)) {
    // Past 2^53 - 1 a number no longer holds the index asked for (9007199254740993 reads as ...992).
    if (!Number.isSafeInteger(Number(leaf))) throw new ServiceError('REQUEST_INVALID', 'a leaf index is at most 2^53 - 1');
    row = await logEntryAt(deps.db, Number(leaf));
  }
  else if (/^(sha256:)?[0-9a-f]{64}$/.test(leaf)) row = await logEntryByLeafHash(deps.db, Buffer.from(leaf.replace(/^sha256:/, ''), 'hex'));
  else if (/^[^@\s]{1,300}@[^@\s]{1,100}$/.test(leaf)) row = (await logEntriesFor(deps.db, leaf, 'manifest')).find((e) => e.form === 'dsse');
  else throw new ServiceError('REQUEST_INVALID', 'leaf is a leaf index, a leaf hash (64 hex digits) or name@version');
  if (!row) throw new ServiceError('NOT_FOUND', `no log entry ${JSON.stringify(leaf.slice(0, 120))}`);
  return row;
}

export interface InclusionProofResponse {
  logIndex: number;
  kind: string;
  subject: string;
  form: string;
  leafHash: string;
  treeSize: number;
  rootHash: string;
  hashes: string[];
  checkpoint: string;
  /** The Sigstore bundle `tlogEntries` item, for Rekor v2 entry forms. */
  tlogEntry?: TlogEntryJson;
  /** For a manifest's `dsse` entry: the publisher's bundle as stored, with `tlogEntries: [tlogEntry]`. */
  bundle?: Record<string, unknown>;
}

/**
 * The inclusion proof of a leaf in the newest checkpoint (or the signed checkpoint of `size`),
 * with that checkpoint's exact envelope; waits for the next checkpoint (at most the interval)
 * when the leaf is newer than the newest one.
 */
export async function readInclusionProof(deps: Deps, leaf: string, size?: number): Promise<InclusionProofResponse> {
  const row = await findLeaf(deps, leaf);
  let cp: CheckpointRow;
  if (size === undefined) cp = await checkpointer(deps).covering(row.idx + 1);
  else {
    const at = await checkpointAt(deps.db, size);
    if (!at) throw new ServiceError('NOT_FOUND', `the log signed no checkpoint of size ${size}`);
    if (row.idx >= size) throw new ServiceError('REQUEST_INVALID', `leaf ${row.idx} is not in the tree of size ${size}`);
    cp = at;
  }
  const proof = inclusionProof(row.idx, cp.size, await logHashes(deps.db, inclusionProofNodes(row.idx, cp.size)));
  const out: InclusionProofResponse = {
    logIndex: row.idx,
    kind: row.kind,
    subject: row.subject,
    form: row.form,
    leafHash: Buffer.from(row.leafHash).toString('hex'),
    treeSize: cp.size,
    rootHash: b64(cp.root),
    hashes: proof.map(b64),
    checkpoint: cp.envelope,
  };
  if (row.form === 'dsse' || row.form === 'hashedrekord') {
    out.tlogEntry = buildTlogEntry({ body: row.body, logIndex: row.idx, proof, checkpoint: openCheckpoint(cp.envelope, ed25519NoteVerifier(logOrigin(deps.settings.tlogUrl), deps.keys.logPublicKey)), logId: logId(deps) });
  }
  if (row.kind === 'manifest' && row.form === 'dsse' && out.tlogEntry) {
    const at = row.subject.lastIndexOf('@');
    const version = await versionOf(deps.db, row.subject.slice(0, at), row.subject.slice(at + 1));
    if (version) {
      const bundle = JSON.parse(version.bundle) as Record<string, unknown>;
      out.bundle = { ...bundle, verificationMaterial: { ...(bundle.verificationMaterial as Record<string, unknown>), tlogEntries: [out.tlogEntry] } };
    }
  }
  return out;
}

/**
 * The log entries of versions' signatures (`POST /v1/log/proofs`): for each `name@version`, the
 * `dsse` entry of its manifest signature and of every approval, and the `sigil-event` entry of
 * a revocation or rejection, with inclusion proofs in one
 * signed tree, so a host proves a whole lock against one checkpoint. Without `size`, the newest
 * checkpoint once one covers every entry asked for (waiting at most the signing interval);
 * with `size`, the checkpoint signed at exactly that size and the entries it holds. A version
 * the log has no entry for simply has none listed: the host decides what is missing.
 */
export async function readVersionProofs(deps: Deps, refs: readonly string[], size?: number): Promise<LogProofsResponse> {
  const forms = { manifest: 'dsse', approval: 'dsse', revocation: 'sigil-event', rejection: 'sigil-event' } as const;
  const kinds = Object.keys(forms) as Array<keyof typeof forms>;
  const unique = [...new Set(refs)];
  // One statement for every ref and kind, then listed by ref, kind and log order as asked.
  const found = await logEntriesForAny(deps.db, unique, kinds);
  const rows: { ref: string; kind: keyof typeof forms; row: LogEntryRow }[] = [];
  for (const ref of unique) {
    for (const kind of kinds) {
      for (const row of found) if (row.subject === ref && row.kind === kind && row.form === forms[kind]) rows.push({ ref, kind, row });
    }
  }
  let cp: CheckpointRow;
  if (size === undefined) cp = rows.length ? await checkpointer(deps).covering(Math.max(...rows.map((r) => r.row.idx)) + 1) : await readCheckpoint(deps);
  else {
    const at = await checkpointAt(deps.db, size);
    if (!at) throw new ServiceError('NOT_FOUND', `the log signed no checkpoint of size ${size}`);
    cp = at;
  }
  const proven = rows.filter((r) => r.row.idx < cp.size);
  const reader = await logHashes(
    deps.db,
    proven.flatMap((r) => inclusionProofNodes(r.row.idx, cp.size)),
  );
  return {
    checkpoint: cp.envelope,
    treeSize: cp.size,
    entries: proven.map(({ ref, kind, row }) => ({ ref, kind, logIndex: row.idx, body: b64(row.body), hashes: inclusionProof(row.idx, cp.size, reader).map(b64) })),
  };
}

/** A consistency proof from the tree of `from` leaves to the one of `to` (default: the newest checkpoint). */
export async function readConsistencyProof(deps: Deps, from: number, to?: number): Promise<{ from: number; to: number; hashes: string[]; rootHash: string; checkpoint?: string }> {
  const latest = await readCheckpoint(deps);
  const target = to ?? latest.size;
  if (from > target || target > latest.size) throw new ServiceError('REQUEST_INVALID', `sizes must satisfy from <= to <= ${latest.size} (the newest checkpoint)`);
  const reader = await logHashes(deps.db, [...consistencyProofNodes(from, target), ...treeRootNodes(target)]);
  const signed = await checkpointAt(deps.db, target);
  return {
    from,
    to: target,
    hashes: consistencyProof(from, target, reader).map(b64),
    rootHash: b64(treeRoot(target, reader)),
    ...(signed ? { checkpoint: signed.envelope } : {}),
  };
}
