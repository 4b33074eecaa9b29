import { checkEntryForEnvelope, ed25519NoteVerifier, logOrigin, type NoteVerifier, TlogError, verifyTlogEntry } from '@sigil/tlog';
import { SigningError } from '../errors.js';
import type { TrustedRootJson } from '../trusted-root.js';

/** A transparency log of the trusted root that Sigil can check: Ed25519 checkpoints, a base URL. */
export interface TrustedLog {
  /** The full key hash, the root's `logId.keyId`. */
  logId: Buffer;
  /** Origin and checkpoint key name: the hostname of the log's base URL. */
  origin: string;
  verifier: NoteVerifier;
}

/** What the log entries of a verified bundle proved: where each one sits in which checkpoint. */
export interface VerifiedLogEntry {
  /** `logId.keyId` of the log (base64). */
  logId: string;
  logIndex: number;
  treeSize: number;
  /** The checkpoint envelope the inclusion proof leads to, exactly as carried. */
  checkpoint: string;
}

/** Bundles from the registry carry one entry (the `dsse` 0.0.2 form); a few more are tolerated. */
export const MAX_LOG_ENTRIES = 4;

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The Ed25519 logs of a trusted root, in the form @sigil/tlog checks. A listed log Sigil cannot
 * check (another key type, no base URL) is left out: an entry from it is then refused, never
 * counted.
 */
export function trustedLogs(root: TrustedRootJson | undefined): TrustedLog[] {
  const logs: TrustedLog[] = [];
  for (const log of root?.tlogs ?? []) {
    if (log.publicKey.keyDetails !== 'PKIX_ED25519' || !log.baseUrl) continue;
    const spki = Buffer.from(log.publicKey.rawBytes, 'base64');
    if (spki.length !== 44 || !spki.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) continue;
    try {
      const origin = logOrigin(log.baseUrl);
      logs.push({ logId: Buffer.from(log.logId.keyId, 'base64'), origin, verifier: ed25519NoteVerifier(origin, spki.subarray(12)) });
    } catch {
      // A log whose base URL gives no valid key name cannot sign a checkpoint we would accept.
    }
  }
  return logs;
}

/**
 * Checks every `tlogEntries` item of a bundle (its raw protobuf JSON) against the trusted root's
 * logs: the entry's log is listed, its checkpoint is signed by that log's key for its origin,
 * the inclusion proof leads from the entry's leaf to the checkpoint root, and the entry records
 * this envelope's signature over these bytes (else a relay could attach another leaf's proof).
 * @throws SigningError `LOG_ENTRY_INVALID`
 */
export function verifyLogEntries(items: readonly unknown[], logs: readonly TrustedLog[], envelope: { payloadType: string; payload: Uint8Array; signatures: readonly { sig: Uint8Array }[] }): VerifiedLogEntry[] {
  if (items.length > MAX_LOG_ENTRIES) throw new SigningError('LOG_ENTRY_INVALID', `the bundle carries ${items.length} transparency log entries; at most ${MAX_LOG_ENTRIES} are accepted`);
  return items.map((item, i) => {
    const keyId = (item as { logId?: { keyId?: unknown } } | null)?.logId?.keyId;
    const log = logs.find((l) => typeof keyId === 'string' && l.logId.equals(Buffer.from(keyId, 'base64')));
    if (!log) throw new SigningError('LOG_ENTRY_INVALID', `transparency log entry ${i} is from a log the trusted root does not list`);
    try {
      const verified = verifyTlogEntry(item, { logVerifier: log.verifier, logId: log.logId, origin: log.origin });
      checkEntryForEnvelope(verified.entry, envelope);
      return { logId: log.logId.toString('base64'), logIndex: verified.logIndex, treeSize: verified.checkpoint.checkpoint.size, checkpoint: verified.checkpoint.envelope };
    } catch (cause) {
      const code = cause instanceof TlogError ? ` (${cause.code})` : '';
      throw new SigningError('LOG_ENTRY_INVALID', `transparency log entry ${i} does not verify${code}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
  });
}
