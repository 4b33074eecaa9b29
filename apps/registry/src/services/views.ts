import {
  approvalsOf,
  readApprovals,
  readTokenAndSummaries,
  readTokenAndVersionText,
  readVersionSummaries,
  readVersionWithApprovals,
  serverExists,
  versionOf,
  type ApprovalRecordRow,
  type TokenAuthRow,
  type VersionRecordRow,
  type VersionRow,
  type VersionSummaryRow,
  type VersionText,
  type VersionWithApprovals,
} from '@sigil/db';
import { parseReference, type ServerRecord, type VersionRecord } from '@sigil/manifest';
import type { Deps, LintFinding } from '../deps.js';
import { ServiceError } from '../errors.js';
import { bundleBytesWithEntry, bundleTextWithEntry, withLogEntry } from './attach-log-entry.js';

/** The wire view of a stored version: everything a host needs to verify it again itself. */
export async function versionRecord(deps: Deps, row: VersionRecordRow): Promise<VersionRecord> {
  return {
    name: row.server,
    version: row.version,
    digest: row.digest as VersionRecord['digest'],
    toolsDigest: row.toolsDigest as VersionRecord['toolsDigest'],
    manifest: JSON.parse(row.manifest) as VersionRecord['manifest'],
    status: row.status,
    risk: row.risk,
    publisher: row.publisher,
    signer: { kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) },
    publishedAt: row.publishedAt,
    // The publisher's bundle with its transparency log entry, once a checkpoint covers it.
    bundle: await withLogEntry(deps, 'manifest', `${row.server}@${row.version}`, JSON.parse(row.bundle) as Record<string, unknown>),
    ...(row.provenance ? { provenance: JSON.parse(row.provenance) as Record<string, unknown> } : {}),
    approvals: (await approvalsOf(deps.db, row.id)).map((a) => ({ digest: a.digest as VersionRecord['digest'], reviewer: a.reviewer, bundle: JSON.parse(a.bundle) as Record<string, unknown>, createdAt: a.createdAt })),
    ...(row.rejectedAt ? { rejection: { reason: row.rejectionReason ?? '', by: row.rejectedBy ?? '', at: row.rejectedAt } } : {}),
    ...(row.revokedAt ? { revocation: { reason: row.revocationReason ?? '', by: row.revokedBy ?? '', at: row.revokedAt } } : {}),
  };
}

export function findings(row: VersionRow): LintFinding[] {
  return JSON.parse(row.findings) as LintFinding[];
}

/** The stored version `name@version`, or NOT_FOUND. */
export async function requireVersion(deps: Deps, name: string, version: string): Promise<VersionRow> {
  const row = await versionOf(deps.db, name, version);
  if (!row) throw new ServiceError('NOT_FOUND', `no version ${name}@${version}`);
  return row;
}

/**
 * The version record as JSON text, read from the database on every request: the database is the
 * one source of truth, so a row changed behind the registry's back is served as it is and a
 * host's pin refuses it (a cache here would hide that until a restart). The immutable parts are
 * stored as JSON text already (the canonical manifest, the bundles), so they are spliced in as
 * stored rather than parsed and serialised again; the result is the text `JSON.stringify` gives
 * for {@link versionRecord} of the same row (a test holds the two together).
 */
export async function getVersionJson(deps: Deps, name: string, version: string): Promise<string> {
  const found = await requireRecord(deps, name, version);
  return versionJson(deps, found.row, found.approvals);
}

/** {@link getVersionJson} as UTF-8 bytes (what the read hot path writes). */
export async function getVersionBytes(deps: Deps, name: string, version: string): Promise<Buffer> {
  const found = await requireRecord(deps, name, version);
  return versionBytes(deps, found.row, found.approvals);
}

/**
 * An authenticated GET version in one read: `lookup` is the token lookup for `authenticate`,
 * which reads `name@version` (and its approvals) in the same statement as the token (one round
 * trip on PostgreSQL), the record as its JSON text, written by the database as
 * {@link versionJson} writes it; `bytes()` then answers {@link getVersionBytes} from that read,
 * or reads the version now when no token was looked up (an anonymous read) or a stored column was
 * not text.
 */
export function versionWithToken(deps: Deps, name: string, version: string): { lookup: (secretHash: string) => Promise<TokenAuthRow | undefined>; bytes: () => Promise<Buffer> } {
  let text: { found: VersionText | null | undefined } | undefined;
  return {
    lookup: async (secretHash) => {
      const both = await readTokenAndVersionText(deps.db, secretHash, name, version);
      text = both;
      return both.token;
    },
    bytes: async () => {
      if (!text) return getVersionBytes(deps, name, version);
      if (text.found === undefined) throw new ServiceError('NOT_FOUND', `no version ${name}@${version}`);
      // A stored column that is not text: read as usual, so it is served as JSON.stringify writes it.
      return text.found ? answerOf(deps, name, version, text.found) : getVersionBytes(deps, name, version);
    },
  };
}

/** A record read as JSON text (readTokenAndVersionText) as the bytes {@link versionBytes} makes of the same row. */
async function textBytes(deps: Deps, name: string, version: string, found: VersionText): Promise<Buffer> {
  const bundle = await bundleBytesWithEntry(deps, `${name}@${version}`, found.bundle);
  return spliced(found.head, bundle, found.tail);
}

/** `head`, `bundle` and `tail` in one buffer: the text encoded as UTF-8 around the bundle's bytes, copied between. */
function spliced(head: string, bundle: Buffer, tail: string): Buffer {
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + bundle.length + Buffer.byteLength(tail, 'utf8'));
  out.write(head, 0, 'utf8');
  bundle.copy(out, headLength);
  out.write(tail, headLength + bundle.length, 'utf8');
  return out;
}

/** The bytes made from each read (see {@link answerOf}), per registry (its log's origin and id are in them). */
const answers = new WeakMap<Deps, WeakMap<VersionText, Promise<Buffer>>>();

/**
 * {@link textBytes} of one read, made once per read object. On PostgreSQL the requests that asked
 * the same question in one turn of the event loop share one read (readTokenAndVersionText: one
 * object for all of them); on SQLite the same question gets the same object while the database's
 * change stamp stays (@sigil/db read-memo.ts: no row changed since it was read). Either way they
 * share its bytes: made once for the first and handed to the others. Only the same read object
 * matches: a request never gets bytes made from any read but its own. The bytes also hold the
 * bundle's log entry, read after the record: on SQLite a checkpoint signed since changes the
 * stamp, so the read and its bytes are made again; a read whose bytes failed is made again too.
 */
function answerOf(deps: Deps, name: string, version: string, found: VersionText): Promise<Buffer> {
  let made = answers.get(deps);
  if (!made) answers.set(deps, (made = new WeakMap()));
  let bytes = made.get(found);
  if (!bytes) {
    const kept = made;
    bytes = textBytes(deps, name, version, found);
    kept.set(found, bytes);
    bytes.catch(() => kept.delete(found));
  }
  return bytes;
}

async function requireRecord(deps: Deps, name: string, version: string): Promise<VersionWithApprovals> {
  const found = await readVersionWithApprovals(deps.db, name, version);
  if (!found) throw new ServiceError('NOT_FOUND', `no version ${name}@${version}`);
  return found;
}

const str = JSON.stringify;

/** {@link versionRecord} of `row` as JSON text, with the stored JSON columns spliced in (its approvals read now unless given, as read with the row). */
export async function versionJson(deps: Deps, row: VersionRecordRow, approvalRows?: readonly ApprovalRecordRow[]): Promise<string> {
  const { head, tail } = await recordParts(deps, row, approvalRows);
  // The publisher's bundle carries its log entry once a checkpoint covers it (versionRecord):
  // stored text until then, the same object versionRecord builds after.
  return head + (await bundleTextWithEntry(deps, `${row.server}@${row.version}`, row.bundle)) + tail;
}

/**
 * {@link versionJson} as UTF-8 bytes, the same text: the parts around the bundle encoded into one
 * buffer with the bundle's bytes (kept with its served text) copied between them.
 */
export async function versionBytes(deps: Deps, row: VersionRecordRow, approvalRows?: readonly ApprovalRecordRow[]): Promise<Buffer> {
  const { head, tail } = await recordParts(deps, row, approvalRows);
  return spliced(head, await bundleBytesWithEntry(deps, `${row.server}@${row.version}`, row.bundle), tail);
}

/** The record's text before its publisher bundle and after it. */
async function recordParts(deps: Deps, row: VersionRecordRow, approvalRows?: readonly ApprovalRecordRow[]): Promise<{ head: string; tail: string }> {
  const signer = str({ kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) });
  let approvals = '';
  for (const a of approvalRows ?? (await readApprovals(deps.db, row.id))) {
    approvals += `${approvals ? ',' : ''}{"digest":${str(a.digest)},"reviewer":${str(a.reviewer)},"bundle":${a.bundle},"createdAt":${str(a.createdAt)}}`;
  }
  return {
    head:
      `{"name":${str(row.server)},"version":${str(row.version)},"digest":${str(row.digest)},"toolsDigest":${str(row.toolsDigest)},"manifest":${row.manifest}` +
      `,"status":${str(row.status)},"risk":${str(row.risk)},"publisher":${str(row.publisher)},"signer":${signer},"publishedAt":${str(row.publishedAt)},"bundle":`,
    tail:
      (row.provenance ? `,"provenance":${row.provenance}` : '') +
      `,"approvals":[${approvals}]` +
      (row.rejectedAt ? `,"rejection":${str({ reason: row.rejectionReason ?? '', by: row.rejectedBy ?? '', at: row.rejectedAt })}` : '') +
      (row.revokedAt ? `,"revocation":${str({ reason: row.revocationReason ?? '', by: row.revokedBy ?? '', at: row.revokedAt })}` : '') +
      '}',
  };
}

/** A server and its versions, newest first, as JSON text (only the columns the answer shows are read). */
export async function getServerJson(deps: Deps, name: string): Promise<string> {
  return serverJson(deps, name, await readVersionSummaries(deps.db, name));
}

/**
 * An authenticated GET server in one read: `lookup` is the token lookup for `authenticate`,
 * which reads the server's versions in the same statement as the token (on SQLite); `json()`
 * then answers {@link getServerJson} from that read, or reads now when no token was looked up
 * (an anonymous read).
 */
export function serverWithToken(deps: Deps, name: string): { lookup: (secretHash: string) => Promise<TokenAuthRow | undefined>; json: () => Promise<string> } {
  let summaries: VersionSummaryRow[] | undefined;
  return {
    lookup: async (secretHash) => {
      const both = await readTokenAndSummaries(deps.db, secretHash, name);
      summaries = both.summaries;
      return both.token;
    },
    json: () => (summaries ? serverTextOf(deps, name, summaries) : getServerJson(deps, name)),
  };
}

/** The text made from each read of a server's versions, as {@link answerOf} keeps a record's bytes (the same read object, on SQLite while no row changed). */
const serverTexts = new WeakMap<readonly VersionSummaryRow[], Promise<string>>();

function serverTextOf(deps: Deps, name: string, rows: readonly VersionSummaryRow[]): Promise<string> {
  // An empty list asks the database whether the server exists: read now, never kept.
  if (rows.length === 0) return serverJson(deps, name, rows);
  let text = serverTexts.get(rows);
  if (!text) {
    text = serverJson(deps, name, rows);
    serverTexts.set(rows, text);
  }
  return text;
}

async function serverJson(deps: Deps, name: string, rows: readonly VersionSummaryRow[]): Promise<string> {
  // A version's server exists (a foreign key): only a server without versions needs the check.
  if (rows.length === 0 && !(await serverExists(deps.db, name))) throw new ServiceError('NOT_FOUND', `no server ${name}`);
  const versions: ServerRecord['versions'] = rows.map((v) => ({ version: v.version, digest: v.digest as VersionRecord['digest'], status: v.status, risk: v.risk, publishedAt: v.publishedAt }));
  return str({ name, versions } satisfies ServerRecord);
}

/** Splits a `<name>@<version>` reference, refusing anything else with the contract codes. */
export function splitRef(ref: string): { name: string; version: string } {
  try {
    return parseReference(ref);
  } catch (e) {
    throw new ServiceError((e as { code: 'NAME_INVALID' | 'VERSION_INVALID' }).code, (e as Error).message);
  }
}
