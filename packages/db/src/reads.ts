import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import type { tokens, versions } from './schema.js';

type TokenRow = typeof tokens.$inferSelect;
type VersionRow = typeof versions.$inferSelect;

/**
 * The registry's hottest reads (a version, a server's versions, a page of servers, the approvals
 * of a version), as better-sqlite3 statements prepared once per connection: each answers from
 * the database on every call (it stays the one source of truth), selects only the columns the
 * answer needs, and skips the query builder's per-call work. Rows come back already named like
 * the drizzle rows, so callers need no mapping.
 */
const cache = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

const VERSION_COLUMNS = `id, server, version, digest, tools_digest AS toolsDigest, manifest, bundle, provenance, signer_kind AS signerKind,
  signer_fingerprint AS signerFingerprint, signer_identity AS signerIdentity, publisher, status, risk, published_at AS publishedAt,
  rejection_reason AS rejectionReason, rejected_by AS rejectedBy, rejected_at AS rejectedAt,
  revocation_reason AS revocationReason, revoked_by AS revokedBy, revoked_at AS revokedAt`;

function prepare(sqlite: Database.Database) {
  return {
    version: sqlite.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE server = ? AND version = ?`),
    versionById: sqlite.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE id = ?`),
    approvals: sqlite.prepare('SELECT digest, reviewer, bundle, created_at AS createdAt FROM approvals WHERE version_id = ? ORDER BY id'),
    serverExists: sqlite.prepare('SELECT 1 FROM servers WHERE name = ?').pluck(),
    summaries: sqlite.prepare('SELECT id, version, digest, status, risk, published_at AS publishedAt FROM versions WHERE server = ? ORDER BY id DESC'),
    latest: sqlite.prepare('SELECT version, status, digest FROM versions WHERE server = ? ORDER BY id DESC LIMIT 1'),
    approvedOf: sqlite.prepare("SELECT id, version FROM versions WHERE server = ? AND status = 'approved'"),
    auditTip: sqlite.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
    token: sqlite.prepare(
      'SELECT id, principal, secret_hash AS secretHash, role, namespaces, created_at AS createdAt, created_by AS createdBy, expires_at AS expiresAt, revoked_at AS revokedAt FROM tokens WHERE secret_hash = ?',
    ),
  };
}

function statements(db: Db): ReturnType<typeof prepare> {
  const sqlite = clientOf(db)!;
  let s = cache.get(sqlite);
  if (!s) {
    s = prepare(sqlite);
    cache.set(sqlite, s);
  }
  return s;
}

/**
 * The better-sqlite3 connection of a database handle: drizzle() puts it on the handle it returns
 * (the Db type leaves it out); a transaction handle has none.
 */
export function clientOf(db: object): Database.Database | undefined {
  return (db as { $client?: Database.Database }).$client;
}

/** The token whose secret hashes to `secretHash` (what every authenticated request reads). */
export function readToken(db: Db, secretHash: string): TokenRow | undefined {
  return statements(db).token.get(secretHash) as TokenRow | undefined;
}

/** The newest audit event's sequence number and hash, or undefined for an empty chain (what every signed status carries). */
export function readAuditTip(db: Db): { seq: number; hash: string } | undefined {
  return statements(db).auditTip.get() as { seq: number; hash: string } | undefined;
}

/** A stored version without its lint findings (what a version record is made of). */
export type VersionRecordRow = Omit<VersionRow, 'findings'>;
export interface ApprovalRecordRow {
  digest: string;
  reviewer: string;
  /** The approval's Sigstore bundle, as the JSON text stored. */
  bundle: string;
  createdAt: string;
}
export type VersionSummaryRow = Pick<VersionRow, 'id' | 'version' | 'digest' | 'status' | 'risk' | 'publishedAt'>;

/** The version `server@version`, without its findings. */
export function readVersion(db: Db, server: string, version: string): VersionRecordRow | undefined {
  return statements(db).version.get(server, version) as VersionRecordRow | undefined;
}

/** The version with this id, without its findings. */
export function readVersionById(db: Db, id: number): VersionRecordRow | undefined {
  return statements(db).versionById.get(id) as VersionRecordRow | undefined;
}

/** The approvals of a version, oldest first, with their bundles as stored text. */
export function readApprovals(db: Db, versionId: number): ApprovalRecordRow[] {
  return statements(db).approvals.all(versionId) as ApprovalRecordRow[];
}

export function serverExists(db: Db, name: string): boolean {
  return statements(db).serverExists.get(name) !== undefined;
}

/** Every version of a server, newest published first, without manifests or bundles. */
export function readVersionSummaries(db: Db, server: string): VersionSummaryRow[] {
  return statements(db).summaries.all(server) as VersionSummaryRow[];
}

/** The newest published version of a server (any status), or undefined. */
export function readLatestVersion(db: Db, server: string): Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined {
  return statements(db).latest.get(server) as Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined;
}

/** The ids and versions of a server's approved versions, in no particular order. */
export function readApprovedVersions(db: Db, server: string): Array<{ id: number; version: string }> {
  return statements(db).approvedOf.all(server) as Array<{ id: number; version: string }>;
}
