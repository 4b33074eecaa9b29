import type Database from 'better-sqlite3';
import { GENESIS_HASH } from './audit.js';
import { type Drizzle, type Executor, query } from './database.js';
import { readPg } from './reads.js';
import type { versions } from './schema.js';

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
 * prepared once per connection, so the answer is one consistent view of the database; on
 * PostgreSQL three named statements for all the references at once, sent together (pipelined).
 */
export function readStatusSnapshot(db: Executor, refs: ReadonlyArray<readonly [server: string, version: string]>): Promise<StatusSnapshot> {
  const snapshot = (): StatusSnapshot => ({ versions: new Map(), approved: new Map(), audit: { seq: 0, hash: GENESIS_HASH } });
  if (db.dialect !== 'sqlite') return readStatusSnapshotPg(db, refs, snapshot());
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

/**
 * On PostgreSQL: one named statement whatever the number of references (the versions asked with
 * their approval digests, the approved versions of their servers, the audit chain head, each as
 * one JSON column of its one row), so the three come from one snapshot of the database, as on
 * SQLite: a revocation that commits meanwhile is in all of them or in none (three statements
 * each read their own moment, and a signed status could say `approved` beside an audit head that
 * already held the revocation). A short question goes on a pipelined connection; a long one
 * (more than {@link PIPELINED_REFS} references) on the pool, so it never holds up the point
 * reads queued behind it there.
 */
const PG_STATUS = {
  name: 'sigil_status_snapshot',
  text: `WITH q AS (SELECT * FROM unnest($1::text[], $2::text[]) AS q(server, version)),
    v AS (SELECT v.server, v.version, v.id, v.status, v.digest, v.risk, v.revoked_at AS "revokedAt", v.revocation_reason AS "revocationReason",
      ARRAY(SELECT a.digest FROM approvals a WHERE a.version_id = v.id ORDER BY a.id) AS approvals
      FROM q JOIN versions v ON v.server = q.server AND v.version = q.version),
    a AS (SELECT server, version FROM versions WHERE server = ANY($3::text[]) AND status = 'approved'),
    t AS (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1)
    SELECT (SELECT coalesce(json_agg(v), '[]'::json) FROM v) AS versions, (SELECT coalesce(json_agg(a), '[]'::json) FROM a) AS approved, (SELECT row_to_json(t) FROM t) AS tip`,
} as const;

/** Most references of a status read sent on a pipelined connection (more go to the pool). */
export const PIPELINED_REFS = 32;

async function readStatusSnapshotPg(db: Executor, refs: ReadonlyArray<readonly [server: string, version: string]>, out: StatusSnapshot): Promise<StatusSnapshot> {
  const servers = [...new Set(refs.map(([server]) => server))];
  const [row] = await readPg<{ versions: Array<StatusVersionRow & { server: string; version: string }>; approved: Array<{ server: string; version: string }>; tip: { seq: number; hash: string } | null }>(
    db,
    { ...PG_STATUS, pipelined: refs.length <= PIPELINED_REFS },
    [refs.map(([s]) => s), refs.map(([, v]) => v), servers],
  );
  const rows = row!.versions;
  const approved = row!.approved;
  const tip = row!.tip ? [row!.tip] : [];
  for (const server of servers) {
    out.versions.set(server, new Map());
    out.approved.set(server, []);
  }
  for (const [server, version] of refs) out.versions.get(server)!.set(version, undefined);
  for (const { server, version, ...row } of rows) out.versions.get(server)!.set(version, row);
  for (const { server, version } of approved) out.approved.get(server)!.push(version);
  if (tip[0]) out.audit = tip[0];
  return out;
}
