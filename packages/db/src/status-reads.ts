import type Database from 'better-sqlite3';
import { and, asc, desc, eq } from 'drizzle-orm';
import { GENESIS_HASH } from './audit.js';
import { type Drizzle, type Executor, query } from './database.js';
import { approvals, auditEvents, versions } from './schema.js';

type VersionRow = typeof versions.$inferSelect;

/** What a signed status says of one stored version. */
export type StatusVersionRow = Pick<VersionRow, 'id' | 'status' | 'digest' | 'risk' | 'revokedAt' | 'revocationReason'> & {
  /** Digests of its approval bundles, oldest first. */
  approvals: string[];
};

/** Everything one signed status is made of, read in one step. */
export interface StatusSnapshot {
  /** Per `server` then `version` asked: the stored version, or undefined. */
  versions: Map<string, Map<string, StatusVersionRow | undefined>>;
  /** Per server asked: its approved versions (unordered). */
  approved: Map<string, string[]>;
  /** The audit chain head (`seq` 0 and the genesis hash for an empty chain). */
  audit: { seq: number; hash: string };
}

const cache = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function prepare(sqlite: Database.Database) {
  return {
    version: sqlite.prepare('SELECT id, status, digest, risk, revoked_at AS revokedAt, revocation_reason AS revocationReason FROM versions WHERE server = ? AND version = ?'),
    approvals: sqlite.prepare('SELECT digest FROM approvals WHERE version_id = ? ORDER BY id').pluck(),
    approvedOf: sqlite.prepare("SELECT version FROM versions INDEXED BY versions_server_version_idx WHERE server = ? AND status = 'approved'").pluck(),
    auditTip: sqlite.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
  };
}

/**
 * The stored status of the versions asked (`[server, version]` pairs), their servers' approved
 * versions and the audit chain head, for `POST /v1/status`: only the small columns a status
 * carries (never the manifest or bundle texts). On SQLite one synchronous step over statements
 * prepared once per connection, so the answer is one consistent view of the database; elsewhere
 * the same columns through the query builder.
 */
export function readStatusSnapshot(db: Executor, refs: ReadonlyArray<readonly [server: string, version: string]>): Promise<StatusSnapshot> {
  const snapshot = (): StatusSnapshot => ({ versions: new Map(), approved: new Map(), audit: { seq: 0, hash: GENESIS_HASH } });
  if (db.dialect !== 'sqlite') {
    return query(db, (q) => ({
      execute: async () => {
        const out = snapshot();
        for (const [server, version] of refs) {
          const byVersion = out.versions.get(server) ?? new Map<string, StatusVersionRow | undefined>();
          out.versions.set(server, byVersion);
          if (!out.approved.has(server)) out.approved.set(server, (await q.select({ version: versions.version }).from(versions).where(and(eq(versions.server, server), eq(versions.status, 'approved')))).map((r) => r.version));
          if (byVersion.has(version)) continue;
          const row = (await q.select({ id: versions.id, status: versions.status, digest: versions.digest, risk: versions.risk, revokedAt: versions.revokedAt, revocationReason: versions.revocationReason }).from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1))[0];
          byVersion.set(version, row && { ...row, approvals: (await q.select({ digest: approvals.digest }).from(approvals).where(eq(approvals.versionId, row.id)).orderBy(asc(approvals.id))).map((a) => a.digest) });
        }
        const tip = (await q.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1))[0];
        if (tip) out.audit = tip;
        return out;
      },
    }));
  }
  return query(db, (q) => ({
    execute: async () => {
      // drizzle() puts the connection on the handle it returns; the Drizzle type leaves it out.
      const connection = (q as Drizzle & { $client: Database.Database }).$client;
      let s = cache.get(connection);
      if (!s) {
        s = prepare(connection);
        cache.set(connection, s);
      }
      const out = snapshot();
      for (const [server, version] of refs) {
        let byVersion = out.versions.get(server);
        if (!byVersion) {
          byVersion = new Map();
          out.versions.set(server, byVersion);
          out.approved.set(server, s.approvedOf.all(server) as string[]);
        }
        if (byVersion.has(version)) continue;
        const row = s.version.get(server, version) as Omit<StatusVersionRow, 'approvals'> | undefined;
        byVersion.set(version, row && { ...row, approvals: s.approvals.all(row.id) as string[] });
      }
      const tip = s.auditTip.get() as { seq: number; hash: string } | undefined;
      if (tip) out.audit = tip;
      return out;
    },
  }));
}
