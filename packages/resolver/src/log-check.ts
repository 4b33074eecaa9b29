import { canonicalJson, LogConsistencyProof, LogProofsResponse, sha256, type Digest, type LogProofEntry, type VersionRecord } from '@sigil/manifest';
import { trustedLogs, type TrustedLog } from '@sigil/signing/verify';
import { checkEntryForEnvelope, checkLogExtension, type Checkpoint, type DsseEnvelopeInput, type EntryBody, hashLeaf, openCheckpoint, parseCheckpoint, parseEntryBody, parseNote, TlogError, type VerifiedCheckpoint, verifyInclusion } from '@sigil/tlog';
import { ResolveError, type ResolveErrorCode } from './errors.js';
import { DEFAULT_FETCH_LIMITS, fetchJson, httpRefusal } from './http.js';
import type { TrustPolicy } from './policy.js';
import type { RegistryOptions } from './resolve.js';
import type { VerifiedVersion } from './verify-version.js';

/** References per `POST /v1/log/proofs` (the registry accepts 64; 32 keeps each answer small). */
const PROOF_CHUNK = 32;

/** A checkpoint of one of the pinned logs, opened with that log's key. */
export interface LogCheckpoint {
  log: TrustedLog;
  verified: VerifiedCheckpoint;
}

/** What the registry showed, once the checkpoint was accepted: the tree, and each version's entries in it. */
export interface LogView {
  checkpoint: LogCheckpoint;
  /** The stored checkpoint it was checked against (undefined: none was stored). */
  floor: LogCheckpoint | undefined;
  /** `first`: nothing was stored; `unchanged`: the stored tree again; `extended`: proved an extension of it. */
  change: 'first' | 'unchanged' | 'extended';
  entries: Map<string, LogProofEntry[]>;
}

const logsOf = new WeakMap<TrustPolicy, TrustedLog[]>();

/**
 * The transparency logs the policy's pinned trusted root lists and Sigil can check (Ed25519
 * checkpoints, a base URL). None: the host requires no log entry at all (a registry without a
 * log, or a root pinned before it had one).
 */
export function pinnedLogs(policy: TrustPolicy): TrustedLog[] {
  let logs = logsOf.get(policy);
  if (!logs) {
    logs = trustedLogs(policy.trustedRoot);
    logsOf.set(policy, logs);
  }
  return logs;
}

function tlogCode(e: unknown): string {
  return e instanceof TlogError ? e.code : 'invalid';
}

/**
 * Opens a checkpoint envelope with the pinned log its origin names. `where` says whose bytes
 * they are: the registry's answer (a bad signature is `SIGNATURE_INVALID`, a malformed note
 * `RESPONSE_INVALID`) or the host's own store (`STORE_INVALID`: never silently replaced).
 */
export function openLogCheckpoint(envelope: string, logs: readonly TrustedLog[], where: 'registry' | 'store'): LogCheckpoint {
  const refuse = (code: ResolveErrorCode, message: string, cause?: unknown): never => {
    throw ResolveError.of('', where === 'store' ? 'STORE_INVALID' : code, message, undefined, cause);
  };
  // A malformed note (CRLF, control characters, no signature block) is said to be malformed, not
  // taken for a checkpoint of an unlisted log by its first line.
  let text = '';
  try {
    text = parseNote(envelope).text;
  } catch (e) {
    refuse('RESPONSE_INVALID', `the log checkpoint ${where === 'store' ? 'stored by this host ' : ''}is malformed (${tlogCode(e)}): ${(e as Error).message}`, e);
  }
  const origin = text.slice(0, Math.max(0, text.indexOf('\n'))).slice(0, 256);
  const candidates = logs.filter((l) => l.origin === origin);
  if (candidates.length === 0) refuse('SIGNATURE_INVALID', `the log checkpoint ${where === 'store' ? 'stored by this host ' : ''}is for log ${JSON.stringify(origin)}, which the pinned trusted root does not list`);
  let last: unknown;
  for (const log of candidates) {
    try {
      return { log, verified: openCheckpoint(envelope, log.verifier, { origin: log.origin }) };
    } catch (e) {
      last = e;
    }
  }
  const malformed = last instanceof TlogError && (last.code === 'NOTE_MALFORMED' || last.code === 'CHECKPOINT_MALFORMED');
  return refuse(
    malformed ? 'RESPONSE_INVALID' : 'SIGNATURE_INVALID',
    `the log checkpoint ${where === 'store' ? 'stored by this host ' : ''}${malformed ? 'is malformed' : "is not signed by the log key of the pinned trusted root"} (${tlogCode(last)}): ${(last as Error).message}`,
    last,
  );
}

/**
 * Asks the registry for the log entries of these versions (manifest and approval signatures)
 * with inclusion proofs, in chunks, each answer in one signed tree. Nothing is trusted yet.
 */
export async function fetchLogProofs(options: RegistryOptions, refs: readonly string[]): Promise<LogProofsResponse[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < refs.length; i += PROOF_CHUNK) chunks.push(refs.slice(i, i + PROOF_CHUNK));
  return Promise.all(chunks.map((chunk) => postProofs(options, chunk)));
}

async function postProofs(options: RegistryOptions, refs: readonly string[], size?: number): Promise<LogProofsResponse> {
  const url = `${options.policy.registryUrl}/v1/log/proofs`;
  const response = await fetchJson(url, { method: 'POST', body: { refs, ...(size === undefined ? {} : { size }) }, token: options.token }, { ...DEFAULT_FETCH_LIMITS, ...options.limits });
  if (response.status !== 200) throw httpRefusal('', url, response);
  if (response.problem) throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's log proofs answer ${response.problem}`);
  const parsed = LogProofsResponse.safeParse(response.json);
  if (!parsed.success) throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's log proofs are malformed at /${parsed.error.issues[0]?.path.join('/')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The registry's RFC 9162 consistency proof from the tree of `from` leaves to the one of `to` (verified by the caller). */
export async function fetchConsistency(options: RegistryOptions, from: number, to: number): Promise<Uint8Array[]> {
  const url = `${options.policy.registryUrl}/v1/log/consistency?from=${from}&to=${to}`;
  const response = await fetchJson(url, { token: options.token }, { ...DEFAULT_FETCH_LIMITS, ...options.limits });
  // `to` is the size of a checkpoint the log key signed: a registry that says it has no such tree
  // (404, 422: beyond its newest) shows a log that does not extend what it signed.
  if (response.status === 404 || response.status === 422) {
    throw ResolveError.of('', 'LOG_INCONSISTENT', `the transparency log: the registry gives no consistency proof from its tree of size ${from} to its tree of size ${to} (HTTP ${response.status}), though its log key signed both`, { status: response.status });
  }
  if (response.status !== 200) throw httpRefusal('', url, response);
  if (response.problem) throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's consistency proof from ${from} to ${to} ${response.problem}`);
  const parsed = LogConsistencyProof.safeParse(response.json);
  if (!parsed.success || parsed.data.from !== from || parsed.data.to !== to) {
    throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's consistency proof from ${from} to ${to} is malformed or for other sizes`);
  }
  return parsed.data.hashes.map((h) => decodeBase64(h) ?? new Uint8Array(0));
}

/** A refusal of `checkLogExtension` as the resolver's own code (`LOG_ROLLBACK`, else `LOG_INCONSISTENT`). */
export function logRefusal(e: unknown, context = ''): never {
  if (e instanceof TlogError && (e.code === 'LOG_INCONSISTENT' || e.code === 'LOG_ROLLBACK')) throw ResolveError.of('', e.code, `the transparency log: ${context}${e.message}`, undefined, e);
  throw ResolveError.of('', 'LOG_INCONSISTENT', `the transparency log: ${context}${(e as Error).message}`, undefined, e);
}

/**
 * The host's step of the client rule of an append-only log (docs/transparency-log.md, "Forks
 * and rollbacks"), over the registry's proof answers: each checkpoint opens with the pinned log
 * key; the newest is the candidate, and another answer's tree of the same size must have the
 * same root (a fork otherwise); answers proved in an older tree are asked again in the newest.
 * Then against the checkpoint this host accepted before: smaller is `LOG_ROLLBACK`, the same
 * size with another root or a larger one without a valid RFC 9162 consistency proof (fetched
 * from the registry) is `LOG_INCONSISTENT`. Nothing is written here: the caller stores the
 * returned checkpoint after every version checked.
 */
export async function settleLogView(options: RegistryOptions, logs: readonly TrustedLog[], asked: readonly string[], answers: LogProofsResponse[], stored: LogCheckpoint | undefined): Promise<LogView> {
  const opened = answers.map((a) => {
    const cp = openLogCheckpoint(a.checkpoint, logs, 'registry');
    if (cp.verified.checkpoint.size !== a.treeSize) throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's log proofs claim tree size ${a.treeSize} under a checkpoint of size ${cp.verified.checkpoint.size}`);
    return cp;
  });
  const newest = opened.reduce((a, b) => (b.verified.checkpoint.size > a.verified.checkpoint.size ? b : a));
  const sameTree = (a: LogCheckpoint, b: LogCheckpoint): boolean =>
    a.log.logId.equals(b.log.logId) && a.verified.checkpoint.size === b.verified.checkpoint.size && Buffer.from(a.verified.checkpoint.root).equals(Buffer.from(b.verified.checkpoint.root));
  const size = newest.verified.checkpoint.size;
  for (const [i, cp] of opened.entries()) {
    if (sameTree(cp, newest)) continue;
    if (!cp.log.logId.equals(newest.log.logId) || cp.verified.checkpoint.size === size) {
      throw ResolveError.of('', 'LOG_INCONSISTENT', `the registry showed two different log trees of size ${cp.verified.checkpoint.size} in one resolution (a fork)`);
    }
    // Signed before the newest: ask for the same entries in the newest tree.
    const chunk = asked.slice(i * PROOF_CHUNK, (i + 1) * PROOF_CHUNK);
    answers[i] = await postProofs(options, chunk, size);
    if (!sameTree(openLogCheckpoint(answers[i]!.checkpoint, logs, 'registry'), newest)) {
      throw ResolveError.of('', 'LOG_INCONSISTENT', `the registry answered for the log tree of size ${size} with another tree (a fork)`);
    }
  }
  let change: LogView['change'] = 'first';
  if (stored) {
    if (!stored.log.logId.equals(newest.log.logId)) {
      throw ResolveError.of('', 'LOG_INCONSISTENT', 'the log checkpoint is signed by another log key than the checkpoint this host accepted before; after a deliberate log key rotation, remove the stored checkpoint');
    }
    const before = stored.verified.checkpoint;
    const after = newest.verified.checkpoint;
    const proof = after.size > before.size ? await fetchConsistency(options, before.size, after.size) : [];
    try {
      change = checkLogExtension(before, after, proof);
    } catch (e) {
      logRefusal(e);
    }
  }
  const wanted = new Set(asked);
  const entries = new Map<string, LogProofEntry[]>();
  for (const answer of answers) {
    for (const e of answer.entries) {
      if (!wanted.has(e.ref)) continue;
      const list = entries.get(e.ref) ?? [];
      list.push(e);
      entries.set(e.ref, list);
    }
  }
  return { checkpoint: newest, floor: stored, change, entries };
}

/** Strict standard base64: undefined unless it re-encodes to the same text. */
function decodeBase64(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function envelopeOf(bundle: Record<string, unknown>): DsseEnvelopeInput {
  const env = (bundle as { dsseEnvelope?: { payload?: string; payloadType?: string; signatures?: Array<{ sig?: string }> } }).dsseEnvelope;
  return { payloadType: env?.payloadType ?? '', payload: Buffer.from(env?.payload ?? '', 'base64'), signatures: [{ sig: Buffer.from(env?.signatures?.[0]?.sig ?? '', 'base64') }] };
}

function entryBody(e: LogProofEntry): EntryBody | undefined {
  const bytes = decodeBase64(e.body);
  if (!bytes) return undefined;
  try {
    return parseEntryBody(bytes);
  } catch {
    return undefined;
  }
}

/** The approval bundle of the record whose canonical digest is `digest` (as counted). */
function approvalOf(record: VersionRecord, digest: Digest): VersionRecord['approvals'][number] | undefined {
  const hinted = record.approvals.filter((a) => a.digest === digest);
  const others = record.approvals.filter((a) => a.digest !== digest);
  return [...hinted, ...others].find((a) => sha256(canonicalJson(a.bundle)) === digest);
}

/**
 * Every signature a verified version relies on is in the log, in the tree of `checkpoint`: the
 * publisher's manifest signature and each counted approval. For each, the entry offered must
 * record that very signature over those bytes (`checkEntryForEnvelope`; else a relay could
 * attach another leaf's proof) and its inclusion proof must lead from its leaf hash to the
 * checkpoint's root (RFC 9162 2.1.3.2). Returns the entries used, to store for offline starts.
 * @throws ResolveError `LOG_ENTRY_MISSING`, `LOG_ENTRY_INVALID`
 */
export function checkLogged(v: VerifiedVersion, entries: readonly LogProofEntry[], checkpoint: Checkpoint, logId?: Buffer): LogProofEntry[] {
  const ref = `${v.name}@${v.version}`;
  if (logId) checkRecordTree(v, checkpoint, logId);
  const used: LogProofEntry[] = [];
  const prove = (kind: LogProofEntry['kind'], envelope: DsseEnvelopeInput, what: string): void => {
    const candidates = entries.filter((e) => e.kind === kind && e.ref === ref);
    let found: { e: LogProofEntry; body: EntryBody } | undefined;
    for (const e of candidates) {
      const body = entryBody(e);
      if (!body) continue;
      try {
        checkEntryForEnvelope(body, envelope);
        found = { e, body };
        break;
      } catch {
        // another signature's entry: keep looking
      }
    }
    if (!found) {
      // The manifest has one entry: one offered that records another signature is a substitution.
      if (kind === 'manifest' && candidates.length > 0) throw ResolveError.of(v.name, 'LOG_ENTRY_INVALID', `the log entry offered for ${what} of ${ref} records another signature`);
      throw ResolveError.of(v.name, 'LOG_ENTRY_MISSING', `${what} of ${ref} is not in the transparency log (tree of size ${checkpoint.size}): the registry accepted a signature it did not log`);
    }
    const hashes = found.e.hashes.map((h) => decodeBase64(h));
    try {
      if (hashes.some((h) => h === undefined)) throw new TlogError('INCLUSION_PROOF_INVALID', 'a proof hash is not canonical base64');
      verifyInclusion(found.e.logIndex, checkpoint.size, found.body.leafHash, hashes as Uint8Array[], checkpoint.root);
    } catch (e) {
      throw ResolveError.of(v.name, 'LOG_ENTRY_INVALID', `the inclusion proof of ${what} of ${ref} (leaf ${found.e.logIndex}) does not lead to the log checkpoint of size ${checkpoint.size} (${tlogCode(e)})`, undefined, e);
    }
    used.push(found.e);
  };
  prove('manifest', envelopeOf(v.record.bundle), 'the manifest signature');
  for (const digest of v.approvals) {
    const approval = approvalOf(v.record, digest);
    if (!approval) throw ResolveError.of(v.name, 'LOG_ENTRY_MISSING', `the counted approval ${digest} of ${ref} is not in the record`);
    prove('approval', envelopeOf(approval.bundle), `the approval by ${approval.reviewer}`);
  }
  checkDecisions(v, entries, checkpoint);
  return used;
}

/**
 * The checkpoint a record's bundle carries in its `tlogEntries` item (the first one covering its
 * entry, already signature-checked by `@sigil/signing/verify`) against the tree the host proved
 * the version in: that tree covers the entry too, so it is never smaller, and at its own size it
 * has its root. A larger one, or another root at the same size, is a second view of the log that
 * the registry showed in the same answer (a fork): `LOG_INCONSISTENT`. A smaller one is not
 * compared (that needs a consistency proof per record).
 * @throws ResolveError `LOG_INCONSISTENT`
 */
function checkRecordTree(v: VerifiedVersion, tree: Checkpoint, logId: Buffer): void {
  const items = (v.record.bundle as { verificationMaterial?: { tlogEntries?: unknown } }).verificationMaterial?.tlogEntries;
  if (!Array.isArray(items)) return;
  for (const item of items as Array<{ logId?: { keyId?: unknown }; inclusionProof?: { checkpoint?: { envelope?: unknown } } }>) {
    const envelope = item?.inclusionProof?.checkpoint?.envelope;
    if (typeof envelope !== 'string' || typeof item.logId?.keyId !== 'string' || !Buffer.from(item.logId.keyId, 'base64').equals(logId)) continue;
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(parseNote(envelope).text);
    } catch {
      continue; // not one @sigil/signing/verify accepted for this log: it refused the record already
    }
    if (cp.origin !== tree.origin) continue;
    if (cp.size > tree.size || (cp.size === tree.size && !Buffer.from(cp.root).equals(Buffer.from(tree.root)))) {
      throw ResolveError.of(
        v.name,
        'LOG_INCONSISTENT',
        `the transparency log: the record of ${v.name}@${v.version} carries a checkpoint of size ${cp.size}${cp.size === tree.size ? ' with another root than' : ', larger than'} the tree of size ${tree.size} its entries were proved in (two views of the log in one answer)`,
      );
    }
  }
}

/**
 * A revocation or rejection the log records for this version, proved in the accepted tree,
 * refuses it even when the signed status says approved: the database behind the registry was
 * edited (a revocation dropped from the record) while the append-only log kept it. A decision
 * entry that does not prove is `LOG_ENTRY_INVALID`. (A registry that hides the entry from its
 * answer is not caught here: inclusion proofs cannot show an absence; monitors can.)
 * @throws ResolveError `REVOKED`, `NOT_APPROVED`, `LOG_ENTRY_INVALID`
 */
function checkDecisions(v: VerifiedVersion, entries: readonly LogProofEntry[], checkpoint: Checkpoint): void {
  const ref = `${v.name}@${v.version}`;
  for (const e of entries) {
    if (e.ref !== ref || (e.kind !== 'revocation' && e.kind !== 'rejection')) continue;
    const bytes = decodeBase64(e.body);
    const hashes = e.hashes.map((h) => decodeBase64(h));
    let spec: { event?: unknown; subject?: unknown; reason?: unknown } | undefined;
    try {
      spec = (JSON.parse(Buffer.from(bytes ?? []).toString('utf8')) as { kind?: unknown; spec?: typeof spec }).spec;
      if (!bytes || hashes.some((h) => h === undefined) || spec?.event !== e.kind || spec.subject !== ref) throw new TlogError('ENTRY_INVALID', `not a ${e.kind} of ${ref}`);
      verifyInclusion(e.logIndex, checkpoint.size, hashLeaf(bytes), hashes as Uint8Array[], checkpoint.root);
    } catch (cause) {
      throw ResolveError.of(v.name, 'LOG_ENTRY_INVALID', `the ${e.kind} entry offered for ${ref} (leaf ${e.logIndex}) does not prove in the log checkpoint of size ${checkpoint.size} (${tlogCode(cause)})`, undefined, cause);
    }
    const reason = typeof spec?.reason === 'string' ? `: ${spec.reason.slice(0, 300)}` : '';
    throw ResolveError.of(
      v.name,
      e.kind === 'revocation' ? 'REVOKED' : 'NOT_APPROVED',
      `the transparency log records the ${e.kind} of ${ref} (leaf ${e.logIndex})${reason}, which the registry's signed status does not show: its record was changed behind the log`,
    );
  }
}
