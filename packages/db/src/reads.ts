import type Database from 'better-sqlite3';
import { and, asc, desc, eq } from 'drizzle-orm';
import { type Drizzle, type Executor, query } from './database.js';
import { approvals, auditEvents, servers, tokens, versions } from './schema.js';

type TokenRow = typeof tokens.$inferSelect;
type VersionRow = typeof versions.$inferSelect;

/**
 * The registry's hottest reads (a version, a server's versions, a page of servers, the approvals
 * of a version). On SQLite, better-sqlite3 statements prepared once per connection: each answers
 * from the database on every call (it stays the one source of truth), selects only the columns
 * the answer needs, and skips the query builder's per-call work. Elsewhere the same columns
 * through the query builder. Rows come back named like the drizzle rows, so callers need no mapping.
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
    // By the server's own index: with many versions the planner would otherwise walk every row
    // in id order (ORDER BY id … LIMIT) or every approved version (status index) to find one server's.
    summaries: sqlite.prepare('SELECT id, version, digest, status, risk, published_at AS publishedAt FROM versions INDEXED BY versions_server_version_idx WHERE server = ? ORDER BY id DESC'),
    latest: sqlite.prepare('SELECT version, status, digest FROM versions INDEXED BY versions_server_version_idx WHERE server = ? ORDER BY id DESC LIMIT 1'),
    approvedOf: sqlite.prepare("SELECT id, version FROM versions INDEXED BY versions_server_version_idx WHERE server = ? AND status = 'approved'"),
    auditTip: sqlite.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
    token: sqlite.prepare(
      'SELECT id, principal, secret_hash AS secretHash, role, namespaces, created_at AS createdAt, created_by AS createdBy, expires_at AS expiresAt, revoked_at AS revokedAt FROM tokens WHERE secret_hash = ?',
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/**
 * One read: the prepared SQLite statement when `ex` is SQLite, the query builder otherwise. Run
 * through {@link query}, so it never reads inside someone else's open transaction.
 */
function read<T>(ex: Executor, sqlite: (s: Statements) => T, builder: (q: Drizzle) => Promise<T>): Promise<T> {
  if (ex.dialect !== 'sqlite') return query(ex, (q) => ({ execute: () => builder(q) }));
  return query(ex, (q) => ({
    execute: async () => {
      // drizzle() puts the connection on the handle it returns; the Drizzle type leaves it out.
      const connection = (q as Drizzle & { $client: Database.Database }).$client;
      let s = cache.get(connection);
      if (!s) {
        s = prepare(connection);
        cache.set(connection, s);
      }
      return sqlite(s);
    },
  }));
}

/** The token whose secret hashes to `secretHash` (what every authenticated request reads). */
export function readToken(db: Executor, secretHash: string): Promise<TokenRow | undefined> {
  return read(
    db,
    (s) => s.token.get(secretHash) as TokenRow | undefined,
    async (q) => (await q.select().from(tokens).where(eq(tokens.secretHash, secretHash)).limit(1))[0],
  );
}

/** The newest audit event's sequence number and hash, or undefined for an empty chain (what every signed status carries). */
export function readAuditTip(db: Executor): Promise<{ seq: number; hash: string } | undefined> {
  return read(
    db,
    (s) => s.auditTip.get() as { seq: number; hash: string } | undefined,
    async (q) => (await q.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1))[0],
  );
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

const recordColumns = {
  id: versions.id,
  server: versions.server,
  version: versions.version,
  digest: versions.digest,
  toolsDigest: versions.toolsDigest,
  manifest: versions.manifest,
  bundle: versions.bundle,
  provenance: versions.provenance,
  signerKind: versions.signerKind,
  signerFingerprint: versions.signerFingerprint,
  signerIdentity: versions.signerIdentity,
  publisher: versions.publisher,
  status: versions.status,
  risk: versions.risk,
  publishedAt: versions.publishedAt,
  rejectionReason: versions.rejectionReason,
  rejectedBy: versions.rejectedBy,
  rejectedAt: versions.rejectedAt,
  revocationReason: versions.revocationReason,
  revokedBy: versions.revokedBy,
  revokedAt: versions.revokedAt,
};

/** The version `server@version`, without its findings. */
export function readVersion(db: Executor, server: string, version: string): Promise<VersionRecordRow | undefined> {
  return read(
    db,
    (s) => s.version.get(server, version) as VersionRecordRow | undefined,
    async (q) => (await q.select(recordColumns).from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1))[0],
  );
}

/** The version with this id, without its findings. */
export function readVersionById(db: Executor, id: number): Promise<VersionRecordRow | undefined> {
  return read(
    db,
    (s) => s.versionById.get(id) as VersionRecordRow | undefined,
    async (q) => (await q.select(recordColumns).from(versions).where(eq(versions.id, id)).limit(1))[0],
  );
}

/** The approvals of a version, oldest first, with their bundles as stored text. */
export function readApprovals(db: Executor, versionId: number): Promise<ApprovalRecordRow[]> {
  return read(
    db,
    (s) => s.approvals.all(versionId) as ApprovalRecordRow[],
    (q) => q.select({ digest: approvals.digest, reviewer: approvals.reviewer, bundle: approvals.bundle, createdAt: approvals.createdAt }).from(approvals).where(eq(approvals.versionId, versionId)).orderBy(asc(approvals.id)).execute(),
  );
}

export function serverExists(db: Executor, name: string): Promise<boolean> {
  return read(
    db,
    (s) => s.serverExists.get(name) !== undefined,
    async (q) => (await q.select({ name: servers.name }).from(servers).where(eq(servers.name, name)).limit(1)).length > 0,
  );
}

/** Every version of a server, newest published first, without manifests or bundles. */
export function readVersionSummaries(db: Executor, server: string): Promise<VersionSummaryRow[]> {
  return read(
    db,
    (s) => s.summaries.all(server) as VersionSummaryRow[],
    (q) => q.select({ id: versions.id, version: versions.version, digest: versions.digest, status: versions.status, risk: versions.risk, publishedAt: versions.publishedAt }).from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)).execute(),
  );
}

/** The newest published version of a server (any status), or undefined. */
export function readLatestVersion(db: Executor, server: string): Promise<Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined> {
  return read(
    db,
    (s) => s.latest.get(server) as Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined,
    async (q) => (await q.select({ version: versions.version, status: versions.status, digest: versions.digest }).from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)).limit(1))[0],
  );
}

/** The ids and versions of a server's approved versions, in no particular order. */
export function readApprovedVersions(db: Executor, server: string): Promise<Array<{ id: number; version: string }>> {
  return read(
    db,
    (s) => s.approvedOf.all(server) as Array<{ id: number; version: string }>,
    (q) => q.select({ id: versions.id, version: versions.version }).from(versions).where(and(eq(versions.server, server), eq(versions.status, 'approved'))).execute(),
  );
}
