import type { KeyObject } from 'node:crypto';
import { type Checkpoint, openCheckpoint, type VerifiedCheckpoint } from './checkpoint.js';
import { type EntryBody, parseEntryBody } from './entries.js';
import { TlogError } from './errors.js';
import { equalHashes, type Hash, HASH_SIZE } from './hash.js';
import { checkKeyName, ed25519PublicKeyBytes, keyHash, type NoteVerifier, SIG_TYPE_ED25519, strictBase64 } from './note.js';
import { MAX_PROOF_HASHES, verifyInclusion } from './verify.js';

/**
 * One item of a Sigstore bundle v0.3 `verificationMaterial.tlogEntries`, in protobuf JSON
 * (`dev.sigstore.rekor.v1.TransparencyLogEntry`), as a Rekor v2 log returns it: an inclusion
 * proof with the checkpoint it leads to, and no signed entry timestamp (`inclusionPromise`)
 * nor `integratedTime`: the bundle's time comes from an RFC 3161 timestamp.
 */
export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  inclusionProof: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
  canonicalizedBody: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/**
 * Builds the bundle's `tlogEntries` item for the entry at `logIndex`. The checkpoint must be the
 * signed one the proof leads to; the proof is verified here first, so a wrong proof is never
 * handed out. `logId` is the log's key hash as the trusted root lists it (`logId.keyId`).
 * @throws TlogError `INCLUSION_PROOF_INVALID`, `ENTRY_INVALID`
 * @example
 * const item = buildTlogEntry({ body: entry.bytes, logIndex, proof: inclusionProof(logIndex, cp.size, store), checkpoint, logId });
 */
export function buildTlogEntry(input: { body: Uint8Array; logIndex: number; proof: readonly Hash[]; checkpoint: { checkpoint: Checkpoint; envelope: string }; logId: Uint8Array }): TlogEntryJson {
  const { body, logIndex, proof, logId } = input;
  const { checkpoint, envelope } = input.checkpoint;
  const entry = parseEntryBody(body);
  if (logId.length !== HASH_SIZE) throw new TlogError('ENTRY_INVALID', `the log id is not ${HASH_SIZE} bytes`);
  verifyInclusion(logIndex, checkpoint.size, entry.leafHash, proof, checkpoint.root);
  return {
    logIndex: String(logIndex),
    logId: { keyId: b64(logId) },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    inclusionProof: {
      logIndex: String(logIndex),
      rootHash: b64(checkpoint.root),
      treeSize: String(checkpoint.size),
      hashes: proof.map(b64),
      checkpoint: { envelope },
    },
    canonicalizedBody: b64(body),
  };
}

/** A bundle log entry that verified: the checkpoint it is in, the parsed body, its index. */
export interface VerifiedTlogEntry {
  readonly checkpoint: VerifiedCheckpoint;
  readonly entry: EntryBody;
  readonly logIndex: number;
}

const INDEX = /^(0|[1-9][0-9]{0,15})$/;

function bad(why: string): never {
  throw new TlogError('ENTRY_INVALID', why);
}

function field(o: unknown, key: string, what: string): unknown {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad(`${what} is not an object`);
  return (o as Record<string, unknown>)[key];
}

function index(value: unknown, what: string): number {
  if (typeof value !== 'string' || !INDEX.test(value) || !Number.isSafeInteger(Number(value))) bad(`${what} is not a decimal index`);
  return Number(value);
}

function base64(value: unknown, what: string): Uint8Array {
  const bytes = typeof value === 'string' ? strictBase64(value) : undefined;
  if (!bytes) bad(`${what} is not canonical base64`);
  return bytes;
}

/**
 * Verifies a bundle `tlogEntries` item against one log, every step fail-closed: the log id is
 * the log's; the checkpoint is signed by the log key, for its origin; the proof's tree size and
 * root are the checkpoint's; the body is a well-formed entry of the kind it claims; and the
 * inclusion proof leads from the body's leaf hash at `logIndex` to the checkpoint root. Whether
 * the entry is the one for the bundle's signature is {@link checkEntryForEnvelope}'s job.
 * @throws TlogError `ENTRY_INVALID`, `NOTE_*`, `CHECKPOINT_*`, `INCLUSION_PROOF_INVALID`
 * @example verifyTlogEntry(bundle.verificationMaterial.tlogEntries[0], { logVerifier, logId })
 */
export function verifyTlogEntry(item: unknown, log: { logVerifier: NoteVerifier; logId: Uint8Array; origin?: string }): VerifiedTlogEntry {
  const logId = base64(field(field(item, 'logId', 'the entry'), 'keyId', 'logId'), 'logId.keyId');
  if (!equalHashes(logId, log.logId)) bad('the entry is from another log (logId)');
  const proofJson = field(item, 'inclusionProof', 'the entry');
  const envelope = field(field(proofJson, 'checkpoint', 'inclusionProof'), 'envelope', 'inclusionProof.checkpoint');
  if (typeof envelope !== 'string') bad('the checkpoint envelope is not a string');
  const checkpoint = openCheckpoint(envelope, log.logVerifier, log.origin === undefined ? {} : { origin: log.origin });
  const cp = checkpoint.checkpoint;
  const logIndex = index(field(item, 'logIndex', 'the entry'), 'logIndex');
  if (index(field(proofJson, 'logIndex', 'inclusionProof'), 'inclusionProof.logIndex') !== logIndex) bad('the proof is for another index than the entry');
  if (index(field(proofJson, 'treeSize', 'inclusionProof'), 'inclusionProof.treeSize') !== cp.size) {
    throw new TlogError('INCLUSION_PROOF_INVALID', 'the proof is for another tree size than its checkpoint');
  }
  if (!equalHashes(base64(field(proofJson, 'rootHash', 'inclusionProof'), 'inclusionProof.rootHash'), cp.root)) {
    throw new TlogError('INCLUSION_PROOF_INVALID', 'the proof is for another root than its checkpoint');
  }
  const hashes = field(proofJson, 'hashes', 'inclusionProof') ?? [];
  if (!Array.isArray(hashes) || hashes.length > MAX_PROOF_HASHES) bad('inclusionProof.hashes is not a bounded list');
  const proof = hashes.map((h: unknown, i: number) => base64(h, `inclusionProof.hashes[${i}]`));
  const entry = parseEntryBody(base64(field(item, 'canonicalizedBody', 'the entry'), 'canonicalizedBody'));
  const kindVersion = field(item, 'kindVersion', 'the entry');
  if (field(kindVersion, 'kind', 'kindVersion') !== entry.kind || field(kindVersion, 'version', 'kindVersion') !== entry.apiVersion) {
    bad('kindVersion does not match the entry body');
  }
  verifyInclusion(logIndex, cp.size, entry.leafHash, proof, cp.root);
  return { checkpoint, entry, logIndex };
}

/** DER SubjectPublicKeyInfo of a raw Ed25519 key (RFC 8410): the trusted root's `rawBytes`. */
export function ed25519Spki(raw: Uint8Array): Uint8Array {
  if (raw.length !== 32) throw new TlogError('KEY_INVALID', 'an Ed25519 public key is 32 bytes');
  return Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
}

/**
 * The log's origin and checkpoint key name for a base URL: its hostname. sigstore-go builds the
 * note verifier from the hostname of the trusted root's `baseUrl`; @sigstore/verify looks the
 * key name up inside `baseUrl`. So origin = key name = hostname satisfies both.
 * @example logOrigin('https://registry.example.com/api/v1/log') // 'registry.example.com'
 */
export function logOrigin(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new TlogError('KEY_INVALID', 'the log base URL is not a URL', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TlogError('KEY_INVALID', 'the log base URL is not http(s)');
  return checkKeyName(url.hostname);
}

/**
 * The `tlogs` item of a Sigstore trusted root for this log (protobuf `TransparencyLogInstance`
 * JSON): Ed25519 key as SPKI DER, `logId.keyId` and `checkpointKeyId.keyId` both the full key
 * hash SHA-256(name || 0x0A || 0x01 || key), whose first four bytes are the checkpoint key id.
 * @example transparencyLogInstance({ baseUrl: 'https://registry.example.com', publicKey, validFrom: new Date() })
 */
export function transparencyLogInstance(input: { baseUrl: string; publicKey: KeyObject | Uint8Array; validFrom: Date; validUntil?: Date; operator?: string }) {
  const raw = input.publicKey instanceof Uint8Array ? input.publicKey : ed25519PublicKeyBytes(input.publicKey);
  const keyId = b64(keyHash(logOrigin(input.baseUrl), SIG_TYPE_ED25519, raw));
  return {
    baseUrl: input.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: b64(ed25519Spki(raw)),
      keyDetails: 'PKIX_ED25519',
      validFor: { start: input.validFrom.toISOString(), ...(input.validUntil ? { end: input.validUntil.toISOString() } : {}) },
    },
    logId: { keyId },
    checkpointKeyId: { keyId },
    ...(input.operator ? { operator: input.operator } : {}),
  };
}
