import { TlogError } from './errors.js';
import { EMPTY_ROOT, equalHashes, type Hash, HASH_SIZE, MAX_TREE_SIZE } from './hash.js';
import { checkKeyName, hasControlCharacter, type NoteSignature, type NoteSigner, type NoteVerifier, openNote, signNote, strictBase64, type VerifiedNote } from './note.js';

/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a signed note whose text is the
 * log's origin, tree size and root hash, one per line, then optional extension lines.
 */
export interface Checkpoint {
  /** The log's identity. For Sigstore clients it is the hostname of the log's `baseUrl`, and the key name. */
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Opaque extension lines (non-empty). Not recommended by the spec; Sigil writes none. */
  readonly extensions: readonly string[];
}

/** A checkpoint whose note verified: the log's own signature, and any other known signatures. */
export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The exact envelope that verified (store and relay these bytes, never a re-serialisation). */
  readonly envelope: string;
  /** The log's signature. */
  readonly logSignature: NoteSignature;
  /**
   * The other verified signatures: witness cosignatures once a cosignature verifier is passed
   * in `cosigners`, so a policy such as "the log and 2 of these 3 witnesses" is a count here.
   */
  readonly cosignatures: readonly NoteSignature[];
}

/** Most extension lines accepted in a checkpoint. */
export const MAX_CHECKPOINT_EXTENSIONS = 16;

const SIZE = /^(0|[1-9][0-9]*)$/;

function malformed(why: string): never {
  throw new TlogError('CHECKPOINT_MALFORMED', why);
}

/**
 * The note text of a checkpoint. The origin must also be a valid key name (no spaces, no plus),
 * as the spec recommends and as Sigstore clients need (the key name equals the origin).
 * @throws TlogError `CHECKPOINT_MALFORMED`
 * @example formatCheckpoint({ origin: 'log.example.com', size: 3, root, extensions: [] })
 */
export function formatCheckpoint(cp: Checkpoint): string {
  try {
    checkKeyName(cp.origin);
  } catch {
    malformed(`the origin ${JSON.stringify(cp.origin.slice(0, 80))} is not a valid key name`);
  }
  if (!Number.isSafeInteger(cp.size) || cp.size < 0 || cp.size > MAX_TREE_SIZE) malformed('the tree size is not an integer in range');
  if (!(cp.root instanceof Uint8Array) || cp.root.length !== HASH_SIZE) malformed(`the root hash is not ${HASH_SIZE} bytes`);
  if (cp.size === 0 && !equalHashes(cp.root, EMPTY_ROOT)) malformed('a checkpoint of size 0 has the empty tree\'s root, SHA-256 of nothing');
  if (cp.extensions.length > MAX_CHECKPOINT_EXTENSIONS) malformed(`more than ${MAX_CHECKPOINT_EXTENSIONS} extension lines`);
  for (const line of cp.extensions) {
    if (line.length === 0 || hasControlCharacter(line, false)) malformed('an extension line is empty or contains a control character');
  }
  return [cp.origin, String(cp.size), Buffer.from(cp.root).toString('base64'), ...cp.extensions].map((l) => `${l}\n`).join('');
}

/**
 * Parses checkpoint note text strictly: at least three non-empty lines, a decimal size without
 * leading zeros (at most 2^53 - 1), a canonical base64 32-byte root, non-empty extension lines.
 * Parse only text whose signature verified ({@link openCheckpoint} does both).
 * @throws TlogError `CHECKPOINT_MALFORMED`
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) malformed('the checkpoint text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) malformed('a checkpoint has at least three lines');
  if (lines.length > 3 + MAX_CHECKPOINT_EXTENSIONS) malformed(`more than ${MAX_CHECKPOINT_EXTENSIONS} extension lines`);
  if (lines.some((l) => l.length === 0)) malformed('a checkpoint line is empty');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!SIZE.test(sizeText) || sizeText.length > 16 || Number(sizeText) > MAX_TREE_SIZE) malformed('the tree size is not a decimal integer without leading zeros, at most 2^53 - 1');
  const root = strictBase64(rootText);
  if (!root || root.length !== HASH_SIZE) malformed(`the root hash is not canonical base64 of ${HASH_SIZE} bytes`);
  // RFC 6962 MTH({}): a tree of no leaves has one root. Any other is a tree that cannot exist,
  // which every later tree would otherwise "extend" (a consistency proof from size 0 is empty).
  if (sizeText === '0' && !equalHashes(root, EMPTY_ROOT)) malformed('a checkpoint of size 0 has the empty tree\'s root, SHA-256 of nothing');
  return { origin, size: Number(sizeText), root, extensions };
}

/**
 * Signs a checkpoint: the log's signature first, then any others (witnesses cosign later by
 * adding lines, which the log's signature does not cover).
 * @example const envelope = signCheckpoint(cp, ed25519NoteSigner(cp.origin, logKey));
 */
export function signCheckpoint(cp: Checkpoint, logSigner: NoteSigner): string {
  return signNote(formatCheckpoint(cp), [logSigner]);
}

/**
 * Opens a checkpoint: the note must carry a valid signature by the log's key (`logVerifier`);
 * signatures by `cosigners` are verified and returned, unknown ones ignored; then the text is
 * parsed and its origin must be `origin` (by default the log key's name).
 * @throws TlogError `NOTE_*`, `CHECKPOINT_MALFORMED`, `CHECKPOINT_ORIGIN_MISMATCH`
 * @example const { checkpoint } = openCheckpoint(envelope, ed25519NoteVerifier('log.example.com', pub));
 */
export function openCheckpoint(
  envelope: string,
  logVerifier: NoteVerifier,
  options: { origin?: string; cosigners?: readonly NoteVerifier[] } = {},
): VerifiedCheckpoint {
  const note: VerifiedNote = openNote(envelope, [logVerifier, ...(options.cosigners ?? [])]);
  const isLog = (s: NoteSignature): boolean => s.name === logVerifier.name && s.keyId === logVerifier.keyId;
  const logSignature = note.verified.find(isLog);
  if (!logSignature) throw new TlogError('NOTE_UNVERIFIED', `the checkpoint is not signed by the log key ${logVerifier.name}`);
  const checkpoint = parseCheckpoint(note.text);
  const origin = options.origin ?? logVerifier.name;
  if (checkpoint.origin !== origin) {
    throw new TlogError('CHECKPOINT_ORIGIN_MISMATCH', `the checkpoint is for ${JSON.stringify(checkpoint.origin.slice(0, 80))}, not ${JSON.stringify(origin)}`);
  }
  return { checkpoint, envelope, logSignature, cosignatures: note.verified.filter((s) => !isLog(s)) };
}
