import { readStatusSnapshot, type StatusSnapshot } from '@sigil/db';
import { compareVersions, parseReference, type Digest, type Reference, type StatusEntry } from '@sigil/manifest';
import { SigningError } from '@sigil/signing/sign';
import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_LIMITS, STATEMENT_TYPE, STATUS_PREDICATE_TYPE, statementSubject } from '@sigil/signing/verify';
import { nowIso, type Deps } from '../deps.js';
import { type BatchedStatus, StatusBatcher, type StatusQuestion } from './status-batch.js';

const batchers = new WeakMap<Deps, StatusBatcher>();

/** The one batcher of a registry's dependencies, made on first use. */
function statusBatcher(deps: Deps): StatusBatcher {
  let batcher = batchers.get(deps);
  if (!batcher) {
    batcher = new StatusBatcher((questions) => statusStatements(deps, questions), deps.keys.statusSigner);
    batchers.set(deps, batcher);
  }
  return batcher;
}

/**
 * One signed, expiring statement of the status of the versions asked for, signed with the
 * registry's status key: status, risk, counted approval digests, revocation. Unknown or invalid
 * references are reported as `unknown`, never silently dropped. The host's nonce is repeated.
 * With `batch`, the statement is read, made and signed with the others of its turn of the event
 * loop (services/status-batch.ts): the same statement, one read and one signature for many answers.
 */
export async function issueStatus(deps: Deps, refs: readonly string[], nonce: string | undefined, registryUrl: string, batch = false): Promise<{ bundle: Record<string, unknown> } | BatchedStatus> {
  const question = { refs, nonce, registryUrl };
  if (batch) return (await statusBatcher(deps).answer(question)).answer;
  const [payload] = await statusStatements(deps, [question]);
  if (payload instanceof Error) throw payload;
  const bundle = await deps.keys.statusSigner.signDsse(payload!, IN_TOTO_PAYLOAD_TYPE);
  return { bundle: bundle as unknown as Record<string, unknown> };
}

/** A batch of status answers closes at the end of this turn (StatusBatcher.soon): call as a request that may ask begins. */
export function expectStatusQuestions(deps: Deps): void {
  statusBatcher(deps).soon();
}

/** {@link issueStatus}'s answer as the JSON text to send (a batched one spliced from its batch's parts). */
export async function issueStatusText(deps: Deps, refs: readonly string[], nonce: string | undefined, registryUrl: string, batch = false): Promise<string> {
  if (batch) return (await statusBatcher(deps).answer({ refs, nonce, registryUrl })).text;
  return JSON.stringify(await issueStatus(deps, refs, nonce, registryUrl));
}

/**
 * The status statements (in-toto Statement v1 JSON bytes, what is signed) answering `questions`,
 * in order, from one read of the database made now: each says what the database held at this
 * moment (an error in place of a statement over the statement limit, which fails its question
 * alone). Questions about the same references from the same origin share their entries, so a
 * batch of them costs one read and one set of entries; only the nonce differs, spliced into the
 * text (the bytes are those JSON.stringify writes for the whole statement).
 */
export async function statusStatements(deps: Deps, questions: readonly StatusQuestion[]): Promise<Array<Buffer | Error>> {
  const parsedOf = new Map<string, Reference | undefined>();
  const parse = (ref: string): Reference | undefined => {
    if (parsedOf.has(ref)) return parsedOf.get(ref);
    let p: Reference | undefined;
    try {
      p = parseReference(ref);
    } catch {
      p = undefined;
    }
    parsedOf.set(ref, p);
    return p;
  };
  const pairs: Array<readonly [string, string]> = [];
  for (const q of questions) {
    for (const ref of q.refs) {
      const p = parsedOf.has(ref) ? undefined : parse(ref);
      if (p) pairs.push([p.name, p.version]);
    }
  }
  // One read for every answer: the versions, their servers' approved versions and the audit
  // chain head, as one consistent view (on SQLite), small columns only.
  const snapshot = await readStatusSnapshot(deps.db, pairs);
  const issuedAt = nowIso(deps);
  const expiresAt = new Date(Date.parse(issuedAt) + deps.settings.statusTtlSeconds * 1000).toISOString();
  // The audit chain head, signed: a host or auditor holding an earlier status sees a chain that
  // was cut back or rewritten (GET /v1/audit/verify?seq=&hash=).
  const audit = JSON.stringify({ seq: snapshot.audit.seq, hash: snapshot.audit.hash });
  const newest = new Map<string, string | undefined>();
  const fragments = new Map<string, { head: string; tail: string }>();
  return questions.map((q) => {
    // JSON, not a join: a reference may hold any character, a newline too, and `["a\nb"]` must
    // never share the statement of `["a", "b"]` (another question's answer, signed with this nonce).
    const key = JSON.stringify([q.registryUrl, q.refs]);
    let f = fragments.get(key);
    if (!f) {
      f = statementFragments(q, snapshot, parse, newest, issuedAt, expiresAt, audit);
      fragments.set(key, f);
    }
    // The request schema bounds a nonce to [A-Za-z0-9_-]: JSON.stringify would write it as it is.
    const payload = Buffer.from(`${f.head}${q.nonce ? `"nonce":${JSON.stringify(q.nonce)},` : ''}${f.tail}`, 'utf8');
    if (payload.length > STATEMENT_LIMITS.payloadBytes) return new SigningError('STATEMENT_INVALID', `the statement is larger than ${STATEMENT_LIMITS.payloadBytes} bytes`);
    return payload;
  });
}

/** The statement's text before and after the place of the nonce. */
function statementFragments(
  q: StatusQuestion,
  snapshot: StatusSnapshot,
  parse: (ref: string) => Reference | undefined,
  newest: Map<string, string | undefined>,
  issuedAt: string,
  expiresAt: string,
  audit: string,
): { head: string; tail: string } {
  // Per server asked about, its newest approved version: hosts compare it with the (unsigned)
  // server listing before `lock --update`, so a listing that hides a version is caught.
  const newestApprovedOf = (name: string): string | undefined => {
    if (!newest.has(name)) newest.set(name, [...(snapshot.approved.get(name) ?? [])].sort(compareVersions).at(-1));
    return newest.get(name);
  };
  // Unknown or invalid references are reported as `unknown`, never silently dropped.
  const entries: StatusEntry[] = q.refs.map((ref) => {
    const p = parse(ref);
    if (!p) return { ref, status: 'unknown', approvals: [] };
    const row = snapshot.versions.get(p.name)?.get(p.version);
    const newestApproved = newestApprovedOf(p.name);
    if (!row) return { ref, status: 'unknown', approvals: [], ...(newestApproved ? { newestApproved } : {}) };
    return {
      ref,
      status: row.status,
      digest: row.digest as Digest,
      risk: row.risk,
      // Revoked versions keep their approvals listed: the refusal is then the revocation itself.
      approvals: (row.status === 'approved' || row.status === 'revoked' ? row.approvals : []) as Digest[],
      ...(row.revokedAt ? { revokedAt: row.revokedAt, reason: row.revocationReason ?? '' } : {}),
      ...(newestApproved ? { newestApproved } : {}),
    };
  });
  const subject = entries
    .filter((e) => e.digest)
    .map((e) => {
      const at = e.ref.lastIndexOf('@');
      return statementSubject({ name: e.ref.slice(0, at), version: e.ref.slice(at + 1), digest: e.digest! });
    });
  // An in-toto statement needs a subject; a status about nothing known names the registry itself.
  const subjects = subject.length ? subject : [{ name: q.registryUrl, digest: { sha256: '0'.repeat(64) } }];
  // In the order of the predicate's fields: registry, issuedAt, expiresAt, nonce?, entries, audit.
  const head = `{"_type":${JSON.stringify(STATEMENT_TYPE)},"subject":${JSON.stringify(subjects)},"predicateType":${JSON.stringify(STATUS_PREDICATE_TYPE)},"predicate":{"registry":${JSON.stringify(q.registryUrl)},"issuedAt":${JSON.stringify(issuedAt)},"expiresAt":${JSON.stringify(expiresAt)},`;
  const tail = `"entries":${JSON.stringify(entries)},"audit":${audit}}}`;
  return { head, tail };
}
