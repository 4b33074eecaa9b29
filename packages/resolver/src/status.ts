import { MAX_STATUS_REFS, StatusPredicate, StatusResponse, type StatusEntry } from '@sigil/manifest';
import { type BatchedStatement, STATUS_PREDICATE_TYPE, verifyBatchedStatement, verifyStatementBundle, type VerificationCache } from '@sigil/signing/verify';
import { ResolveError } from './errors.js';
import { boundedText, hasOnlyKeys, isDigest, isDigestList, isTimestamp, isVersion } from './plain.js';
import type { TrustPolicy } from './policy.js';

/** Clock skew tolerated for a status issued "in the future". */
const MAX_SKEW_MS = 5 * 60 * 1000;

export interface VerifiedStatus {
  predicate: StatusPredicate;
  entries: Map<string, StatusEntry>;
}

/**
 * Verifies the registry's status statement once for a whole resolution, in the TUF spirit of
 * "timestamp role" checks (TUF specification 5.4: signature by the pinned key, then version
 * and expiry): signed by the status key the policy pins (SIGNATURE_INVALID); for this request
 * when a nonce was sent, and not older than the newest one this host accepted (STATUS_STALE:
 * a replay); issued within the policy's accepted age and not expired (STATUS_STALE).
 */
export function verifyStatus(
  bundle: unknown,
  policy: TrustPolicy,
  context: { now: Date; nonce?: string; lastIssuedAt?: string; lastAudit?: StatusPredicate['audit']; cache?: VerificationCache; maxAgeMs?: number },
): VerifiedStatus {
  return judgeStatus(verifyStatusSignature(bundle, policy, context.cache), policy, context);
}

/**
 * The checks of {@link verifyStatus} after the signature, on a predicate that
 * {@link verifyStatusSignature} returned: the host's stored status, verified once when loaded,
 * is judged for freshness through this without being read and verified a second time.
 */
export function judgeStatus(status: StatusPredicate, policy: TrustPolicy, context: { now: Date; nonce?: string; lastIssuedAt?: string; lastAudit?: StatusPredicate['audit']; maxAgeMs?: number }): VerifiedStatus {
  const refuse = (code: 'STATUS_STALE', message: string, details?: unknown): never => {
    throw ResolveError.of('', code, message, details);
  };
  const maxAgeMs = context.maxAgeMs ?? policy.maxStatusAgeMs;
  const now = context.now.getTime();
  const issued = Date.parse(status.issuedAt);
  const expires = Date.parse(status.expiresAt);
  checkStatusFloor(status, context.lastIssuedAt, context.lastAudit);
  if (context.nonce !== undefined && status.nonce !== context.nonce) refuse('STATUS_STALE', 'the signed status does not answer this request (its nonce differs): a replayed answer', { check: 'nonce' });
  if (issued > now + MAX_SKEW_MS) refuse('STATUS_STALE', `the signed status claims to be issued in the future (${status.issuedAt})`);
  if (now - issued > maxAgeMs) refuse('STATUS_STALE', `the signed status was issued at ${status.issuedAt}, longer ago than the policy accepts (${maxAgeMs / 1000} s)`);
  if (expires <= now) refuse('STATUS_STALE', `the signed status expired at ${status.expiresAt}`);
  return { predicate: status, entries: new Map(status.entries.map((e) => [e.ref, e])) };
}

/**
 * The replay floor alone: `status` is not older than the stored status (`lastIssuedAt`, TUF
 * 5.4.3) and its audit chain head is not behind it (`lastAudit`); otherwise `STATUS_STALE`.
 * Checked when a status is verified, and again when it is stored (another process of the host
 * may have stored a newer one meanwhile).
 */
export function checkStatusFloor(status: StatusPredicate, lastIssuedAt: string | undefined, lastAudit: StatusPredicate['audit'] | undefined): void {
  const refuse = (message: string, details: unknown): never => {
    throw ResolveError.of('', 'STATUS_STALE', message, details);
  };
  // TUF 5.4.3: never accept a statement older than the trusted one (the host's stored status).
  if (lastIssuedAt !== undefined && Date.parse(status.issuedAt) < Date.parse(lastIssuedAt)) {
    refuse(`the signed status was issued at ${status.issuedAt}, before the one this host already accepted (${lastIssuedAt}): a replayed answer`, { check: 'replay-floor', floor: lastIssuedAt });
  }
  // The registry's audit chain head never moves back: a lower sequence than the one this host
  // already accepted, or another hash at the same one, means the chain was cut or rewritten.
  if (lastAudit !== undefined && lastAudit.seq > 0) {
    const audit = status.audit;
    if (!audit || audit.seq < lastAudit.seq || (audit.seq === lastAudit.seq && audit.hash !== lastAudit.hash)) {
      refuse(`the signed status carries the audit chain head ${audit ? audit.seq : 'none'}, behind or different from ${lastAudit.seq} this host already accepted: the registry's audit log was cut back or rewritten`, { check: 'audit-floor', floor: lastAudit });
    }
  }
}

/**
 * The signature and shape of a status statement only (no freshness): signed by the status key
 * the policy pins (SIGNATURE_INVALID), a well-formed predicate (RESPONSE_INVALID). The host's
 * stored status is loaded through this to serve as its replay floor, whatever its age.
 *
 * Two forms are accepted, each as the registry signs it: a Sigstore bundle of the statement
 * (signed on its own; every status stored before batching), or a batched answer
 * `{bundle, statement, proof}` whose statement is a leaf of a Merkle tree whose root the bundle
 * signs (docs/resolver.md, "Batched status"): the proof must lead the exact statement bytes to
 * the signed root, of the signed tree size, or it is SIGNATURE_INVALID like a bad signature.
 * `text`: the exact text `bundle` was parsed from, when it was read from disk (the stored status);
 * with `cache`, a result this host sealed for those very bytes stands for the signature check.
 */
export function verifyStatusSignature(bundle: unknown, policy: TrustPolicy, cache?: VerificationCache, text?: string): StatusPredicate {
  const refuse = (code: 'SIGNATURE_INVALID' | 'RESPONSE_INVALID', message: string, cause?: unknown): never => {
    throw ResolveError.of('', code, message, undefined, cause);
  };
  if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) refuse('RESPONSE_INVALID', 'the registry sent no status bundle');
  let verify: (key: string) => unknown;
  if ('proof' in (bundle as object)) {
    const answer = StatusResponse.safeParse(bundle, { jitless: true });
    if (!answer.success || answer.data.statement === undefined || answer.data.proof === undefined) return refuse('RESPONSE_INVALID', 'the batched status is not {bundle, statement, proof}');
    const batched = answer.data as BatchedStatement;
    verify = (key) => verifyBatchedStatement(batched, key, { predicateType: STATUS_PREDICATE_TYPE }, { cache }).statement.predicate;
  } else {
    // `text`, the exact bytes `bundle` was parsed from (a stored status): verified as they are,
    // and their digest keys the kept result, without serialising the parsed bundle again.
    verify = (key) => verifyStatementBundle(text ?? (bundle as Record<string, unknown>), key, { predicateType: STATUS_PREDICATE_TYPE }, { cache }).statement.predicate;
  }
  let predicate: unknown;
  try {
    predicate = verify(policy.statusKey);
  } catch (e) {
    // During a rotation the policy also names the announced next key; either one verifies.
    if (policy.nextStatusKey === undefined) return refuse('SIGNATURE_INVALID', `the status is not signed by the registry key pinned in the policy: ${(e as Error).message}`, e);
    try {
      predicate = verify(policy.nextStatusKey);
    } catch (next) {
      return refuse('SIGNATURE_INVALID', `the status is signed by neither the registry key nor the next key pinned in the policy: ${(e as Error).message}; ${(next as Error).message}`, next);
    }
  }
  if (plainStatusPredicate(predicate)) return predicate;
  // Once per resolution: zod's compiled fast path would cost more than it saves (see policy.ts).
  const parsed = StatusPredicate.safeParse(predicate, { jitless: true });
  if (!parsed.success) refuse('RESPONSE_INVALID', `the signed status is malformed: ${parsed.error.issues[0]?.message}`);
  return parsed.data!;
}

/**
 * @internal What the plain test allows, written out so that a start builds no schema for it (the
 * schemas are built on first use, see `deferSchema`); plain-keys.test.ts checks each against its
 * schema.
 */
export const PLAIN_STATUS = {
  predicateKeys: new Set(['registry', 'issuedAt', 'expiresAt', 'nonce', 'entries', 'audit']) as ReadonlySet<string>,
  entryKeys: new Set(['ref', 'status', 'digest', 'risk', 'approvals', 'revokedAt', 'reason', 'newestApproved']) as ReadonlySet<string>,
  statuses: new Set(['pending', 'approved', 'rejected', 'revoked']) as ReadonlySet<unknown>,
  risks: new Set(['low', 'high']) as ReadonlySet<unknown>,
};
const PREDICATE_KEYS = PLAIN_STATUS.predicateKeys;
const ENTRY_KEYS = PLAIN_STATUS.entryKeys;
const AUDIT_KEYS: ReadonlySet<string> = new Set(['seq', 'hash']);
const ENTRY_STATUSES: ReadonlySet<unknown> = new Set([...PLAIN_STATUS.statuses, 'unknown']);
const RISKS = PLAIN_STATUS.risks;

/**
 * True only when StatusPredicate accepts `value` and would give it back as it is: every field
 * of the predicate and of each entry checked as the schema checks it, no key outside the strict
 * shapes, and an optional key either absent or valid. A host parses the signed status, one entry
 * per locked server, at each start; zod's parse of it cost about half a million instructions per
 * entry. Anything this test is unsure of goes through zod, which decides and words the refusal.
 * @internal exported for its test
 */
export function plainStatusPredicate(value: unknown): value is StatusPredicate {
  if (!hasOnlyKeys(value, PREDICATE_KEYS)) return false;
  if (!boundedText(value.registry, 1, 2048) || !isTimestamp(value.issuedAt) || !isTimestamp(value.expiresAt)) return false;
  if (Object.hasOwn(value, 'nonce') && !boundedText(value.nonce, 0, 128)) return false;
  if (Object.hasOwn(value, 'audit')) {
    const audit = value.audit;
    if (!hasOnlyKeys(audit, AUDIT_KEYS) || !Number.isSafeInteger(audit.seq) || (audit.seq as number) < 0 || !isDigest(audit.hash)) return false;
  }
  const entries = value.entries;
  if (!Array.isArray(entries) || entries.length > MAX_STATUS_REFS) return false;
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!hasOnlyKeys(entry, ENTRY_KEYS) || !boundedText(entry.ref, 3, 512) || !ENTRY_STATUSES.has(entry.status) || !isDigestList(entry.approvals, 64)) return false;
    if (Object.hasOwn(entry, 'digest') && !isDigest(entry.digest)) return false;
    if (Object.hasOwn(entry, 'risk') && !RISKS.has(entry.risk)) return false;
    if (Object.hasOwn(entry, 'revokedAt') && !isTimestamp(entry.revokedAt)) return false;
    if (Object.hasOwn(entry, 'reason') && !boundedText(entry.reason, 0, 4096)) return false;
    if (Object.hasOwn(entry, 'newestApproved') && !isVersion(entry.newestApproved)) return false;
  }
  return true;
}
