import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { TlogError } from './errors.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note): text signed by one or more keys, each
 * signature on its own line `— <key name> base64(key id || signature)`.
 */

/** Signature type byte of Ed25519 note signatures (signed-note, "Signature types"). */
export const SIG_TYPE_ED25519 = 0x01;
/** Signature type byte of timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature); not implemented here. */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
/** Largest note accepted, in bytes: room for 16 post-quantum signatures (about 5 kB each), as the spec asks. */
export const MAX_NOTE_BYTES = 256 * 1024;
/** Most signature lines accepted on one note (the spec asks for at least 16). */
export const MAX_NOTE_SIGNATURES = 32;
/** Longest key name accepted, in UTF-16 code units. */
export const MAX_KEY_NAME_LENGTH = 256;

const EM_DASH = '\u2014';
const ED25519_SIGNATURE_BYTES = 64;
const ED25519_PUBLIC_KEY_BYTES = 32;

/** One signature line of a note. `keyId` is the uint32 from the first four signature bytes. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature proper, without the four key-id bytes. */
  readonly signature: Uint8Array;
}

/** A parsed (not yet verified) note: the signed text, with its final newline, and its signatures. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signatures from known keys all verified, and at least one did. */
export interface VerifiedNote extends Note {
  /** The signatures that verified, one per known key. */
  readonly verified: readonly NoteSignature[];
}

/**
 * Checks signatures of one key. A note verifier is identified by (name, key id); it receives
 * the signature bytes after the key id. Ed25519 log keys are {@link ed25519NoteVerifier}; a
 * witness cosignature verifier (c2sp.org/tlog-cosignature, type 0x04: an 8-byte timestamp then
 * an Ed25519 signature over the cosigned message) implements this same interface, so
 * {@link openNote} takes it without change.
 */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** Signs note text for one key. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

/**
 * Throws `KEY_INVALID` unless `name` is a valid key name: non-empty, no Unicode spaces, no
 * plus sign, no control characters (signed-note, "Format").
 */
export function checkKeyName(name: string): string {
  // The pattern is written here, not as a module constant: creating a regular expression with
  // Unicode properties has V8 read ICU's property data, which a host start that checks no key
  // name paid when this module was evaluated (callgrind, warm 1-server `sigil resolve --offline`,
  // packed CLI: 3.1 M of 308 M instructions; 0.6 ms timed in the process).
  if (typeof name !== 'string' || name.length > MAX_KEY_NAME_LENGTH || !/^[^\p{White_Space}\p{Z}\p{Cc}+]+$/u.test(name) || /\p{Cs}/u.test(name)) {
    throw new TlogError('KEY_INVALID', `not a valid note key name: ${JSON.stringify(String(name).slice(0, 80))}`);
  }
  return name;
}

/**
 * SHA-256(key name || 0x0A || signature type || public key): its first four bytes are the
 * key id; the whole of it is a Sigstore trusted root's `logId.keyId` for the log.
 */
export function keyHash(name: string, sigType: number, publicKey: Uint8Array): Uint8Array {
  checkKeyName(name);
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, sigType)).update(publicKey).digest();
}

/**
 * The key id: the first four bytes of {@link keyHash}, big-endian.
 * @example ed25519KeyId('example.com/foo', pub) // 0x530d903a for the signed-note example key
 */
export function keyIdOf(name: string, sigType: number, publicKey: Uint8Array): number {
  return Buffer.from(keyHash(name, sigType, publicKey)).readUInt32BE(0);
}

/** Raw 32-byte Ed25519 public key of a KeyObject (public or private). */
export function ed25519PublicKeyBytes(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TlogError('KEY_INVALID', `an Ed25519 key is needed, not ${String(pub.asymmetricKeyType)}`);
  return Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url');
}

function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) throw new TlogError('KEY_INVALID', `an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes, not ${raw.length}`);
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch (cause) {
    throw new TlogError('KEY_INVALID', 'not an Ed25519 public key', { cause });
  }
}

/**
 * A note signer for an Ed25519 private key (node:crypto KeyObject).
 * @example
 * const { privateKey } = generateKeyPairSync('ed25519');
 * const signer = ed25519NoteSigner('log.example.com', privateKey);
 */
export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (privateKey.type !== 'private') throw new TlogError('KEY_INVALID', 'an Ed25519 private key is needed');
  const keyId = keyIdOf(name, SIG_TYPE_ED25519, ed25519PublicKeyBytes(privateKey));
  return { name, keyId, sign: (text) => sign(null, text, privateKey) };
}

/**
 * A note verifier for an Ed25519 public key: raw 32 bytes or a KeyObject.
 * @example const verifier = ed25519NoteVerifier('log.example.com', publicKey);
 */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array | KeyObject): NoteVerifier {
  const raw = publicKey instanceof Uint8Array ? publicKey : ed25519PublicKeyBytes(publicKey);
  const key = ed25519PublicKey(raw);
  const keyId = keyIdOf(name, SIG_TYPE_ED25519, raw);
  return {
    name,
    keyId,
    verify: (text, signature) => {
      if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
      try {
        return verify(null, text, key, signature);
      } catch {
        return false;
      }
    },
  };
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/**
 * The verifier key (vkey) text of an Ed25519 key: `<name>+<hex key id>+base64(0x01 || key)`.
 * @example formatVerifierKey('example.com/foo', pub) // 'example.com/foo+530d903a+AekyeRrm…'
 */
export function formatVerifierKey(name: string, publicKey: Uint8Array | KeyObject): string {
  const raw = publicKey instanceof Uint8Array ? publicKey : ed25519PublicKeyBytes(publicKey);
  ed25519PublicKey(raw);
  return `${name}+${hex8(keyIdOf(name, SIG_TYPE_ED25519, raw))}+${Buffer.from(Uint8Array.of(SIG_TYPE_ED25519, ...raw)).toString('base64')}`;
}

/**
 * Parses a vkey into a verifier. Only Ed25519 (type 0x01) keys; the key id in the text must be
 * the one the name and key give.
 * @throws TlogError `KEY_INVALID`
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const parts = typeof vkey === 'string' && vkey.length <= 1024 ? vkey.split('+') : [];
  if (parts.length !== 3) throw new TlogError('KEY_INVALID', 'a verifier key is <name>+<key id>+<key>');
  const [name, id, key] = parts as [string, string, string];
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new TlogError('KEY_INVALID', 'the key id of a verifier key is 8 lowercase hex digits');
  const bytes = strictBase64(key);
  if (!bytes || bytes.length < 1) throw new TlogError('KEY_INVALID', 'the key of a verifier key is not base64');
  if (bytes[0] !== SIG_TYPE_ED25519) throw new TlogError('KEY_INVALID', `signature type 0x${bytes[0]!.toString(16).padStart(2, '0')} is not supported (Ed25519 only)`);
  const verifier = ed25519NoteVerifier(name, bytes.subarray(1));
  if (hex8(verifier.keyId) !== id) throw new TlogError('KEY_INVALID', 'the key id of the verifier key does not match its name and key');
  return verifier;
}

/** Standard base64 with padding, canonical (re-encodes to the same text), or undefined. */
export function strictBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Whether `text` holds an ASCII control character (below U+0020) other than newline, which
 * signed-note forbids ("MUST NOT contain any ASCII control characters … other than newline").
 */
export function hasControlCharacter(text: string, allowNewline = true): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}

function malformed(why: string): never {
  throw new TlogError('NOTE_MALFORMED', why);
}

function checkText(text: string): void {
  if (/\p{Cs}/u.test(text)) malformed('the note is not valid UTF-8 (lone surrogate)');
  if (hasControlCharacter(text)) malformed('the note contains a control character other than newline');
}

/**
 * Signs note text with one or more keys. The text must end in a newline and must not contain
 * control characters other than newline.
 * @throws TlogError `NOTE_MALFORMED`, `KEY_INVALID`
 * @example signNote('hello\n', [signer]) // 'hello\n\n— log.example.com AbCd…\n'
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) malformed('note text must end in a newline');
  checkText(text);
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) malformed(`a note is signed by 1..${MAX_NOTE_SIGNATURES} keys`);
  const bytes = utf8.encode(text);
  const seen = new Set<string>();
  const lines = signers.map((s) => {
    checkKeyName(s.name);
    const id = `${s.name}+${hex8(s.keyId)}`;
    if (seen.has(id)) throw new TlogError('KEY_INVALID', `key ${id} signs the note twice`);
    seen.add(id);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(s.keyId >>> 0);
    return `${EM_DASH} ${s.name} ${Buffer.concat([head, s.sign(bytes)]).toString('base64')}\n`;
  });
  const note = `${text}\n${lines.join('')}`;
  if (utf8.encode(note).length > MAX_NOTE_BYTES) malformed(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
  return note;
}

/**
 * Parses a signed note strictly, without verifying it: valid UTF-8, no control characters but
 * newline, at most {@link MAX_NOTE_BYTES}; the text is everything up to the last blank line;
 * after it only well-formed signature lines, each ending in a newline, at least one and at most
 * {@link MAX_NOTE_SIGNATURES}. The text must not be trusted until {@link openNote} verified it.
 * @throws TlogError `NOTE_MALFORMED`
 */
export function parseNote(input: string | Uint8Array): Note {
  let note: string;
  if (typeof input === 'string') {
    if (input.length > MAX_NOTE_BYTES || utf8.encode(input).length > MAX_NOTE_BYTES) malformed(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
    note = input;
  } else {
    if (input.length > MAX_NOTE_BYTES) malformed(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
    try {
      note = strictUtf8.decode(input);
    } catch (cause) {
      throw new TlogError('NOTE_MALFORMED', 'the note is not valid UTF-8', { cause });
    }
  }
  checkText(note);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) malformed('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) malformed('the last signature line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) malformed(`the note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    if (!line.startsWith(`${EM_DASH} `)) malformed(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    if (space < 0) malformed(`signature line ${i + 1} has no signature`);
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    try {
      checkKeyName(name);
    } catch {
      malformed(`signature line ${i + 1} has an invalid key name`);
    }
    const bytes = strictBase64(b64);
    if (!bytes) malformed(`signature line ${i + 1} is not canonical base64`);
    if (bytes.length < 5) malformed(`signature line ${i + 1} is shorter than a key id and a signature`);
    return { name, keyId: Buffer.from(bytes).readUInt32BE(0), signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Opens a signed note (signed-note, "Signatures"): signatures from unknown keys (name or key
 * id not both known) are ignored; every signature from a known key must verify, or the whole
 * note is refused; at least one must.
 * @throws TlogError `NOTE_MALFORMED`, `NOTE_SIGNATURE_INVALID`, `NOTE_UNVERIFIED`, `KEY_INVALID`
 * @example const { text } = openNote(envelope, [ed25519NoteVerifier('log.example.com', pub)]);
 */
export function openNote(input: string | Uint8Array, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const id = `${checkKeyName(v.name)}+${hex8(v.keyId)}`;
    if (known.has(id)) throw new TlogError('KEY_INVALID', `two verifiers for the same key ${id}`);
    known.set(id, v);
  }
  const note = parseNote(input);
  const text = utf8.encode(note.text);
  const verified = new Map<string, NoteSignature>();
  for (const sig of note.signatures) {
    const id = `${sig.name}+${hex8(sig.keyId)}`;
    const verifier = known.get(id);
    if (!verifier) continue;
    let ok = false;
    try {
      ok = verifier.verify(text, sig.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new TlogError('NOTE_SIGNATURE_INVALID', `the signature of known key ${id} does not verify`);
    verified.set(id, sig);
  }
  if (verified.size === 0) throw new TlogError('NOTE_UNVERIFIED', 'no signature on the note is from a trusted key');
  return { ...note, verified: [...verified.values()] };
}
