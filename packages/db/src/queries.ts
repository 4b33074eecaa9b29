import { and, asc, desc, eq, gt, inArray, isNull, ne, or, type SQL, sql } from 'drizzle-orm';
import { type Drizzle, type Executor, query } from './database.js';
import { nameContains, readToken } from './reads.js';
import { columnsOf, direct, insertOf } from './sqlite-direct.js';
import { serverJsonFrom } from './server-json.js';
import { allowlist, allowlistBuilders, allowlistSigners, approvals, certificateAuthorities, principals, reviewers, servers, tokens, tombstones, versions, versionTools } from './schema.js';

export type TokenRow = typeof tokens.$inferSelect;
export type VersionRow = typeof versions.$inferSelect;
export type ApprovalRow = typeof approvals.$inferSelect;
export type ServerRow = typeof servers.$inferSelect;
export type ReviewerRow = typeof reviewers.$inferSelect;
export type AllowlistSignerRow = typeof allowlistSigners.$inferSelect;

/**
 * Prepared statements for the hottest reads (every authenticated request, every version read),
 * built once per connection or transaction handle instead of on every call.
 */
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(q: Drizzle) {
  return {
    version: q
      .select()
      .from(versions)
      .where(and(eq(versions.server, sql.placeholder('server')), eq(versions.version, sql.placeholder('version'))))
      .prepare(),
    approvals: q.select().from(approvals).where(eq(approvals.versionId, sql.placeholder('id'))).orderBy(asc(approvals.id)).prepare(),
  };
}
function statements(q: Drizzle): ReturnType<typeof prepare> {
  let s = prepared.get(q);
  if (!s) {
    s = prepare(q);
    prepared.set(q, s);
  }
  return s;
}
/** A prepared statement's rows on SQLite, the builder's elsewhere, run like any other statement through {@link query}. */
function rows<T>(ex: Executor, run: (s: ReturnType<typeof prepare>) => T[], builder: (q: Drizzle) => Promise<T[]>): Promise<T[]> {
  if (ex.dialect !== 'sqlite') return query(ex, (q) => ({ execute: () => builder(q) }));
  return query(ex, (q) => ({ execute: async () => run(statements(q)) }));
}

// Principals and tokens

export async function ensurePrincipal(db: Executor, name: string, at: string): Promise<void> {
  await query(db, (q) => q.insert(principals).values({ name, createdAt: at }).onConflictDoNothing());
}

export async function insertToken(db: Executor, row: typeof tokens.$inferInsert): Promise<void> {
  await query(db, (q) => q.insert(tokens).values(row));
}

/** Every authenticated request reads this: a plain prepared statement on SQLite. */
export function tokenBySecretHash(db: Executor, secretHash: string): Promise<TokenRow | undefined> {
  return readToken(db, secretHash);
}

export async function tokenById(db: Executor, id: string): Promise<TokenRow | undefined> {
  return (await query(db, (q) => q.select().from(tokens).where(eq(tokens.id, id)).limit(1)))[0];
}

export async function revokeToken(db: Executor, id: string, at: string): Promise<boolean> {
  const revoked = await query(db, (q) =>
    q
      .update(tokens)
      .set({ revokedAt: at })
      .where(and(eq(tokens.id, id), isNull(tokens.revokedAt)))
      .returning({ id: tokens.id }),
  );
  return revoked.length > 0;
}

/** Tokens, newest first, without their secret hashes (what `GET /v1/tokens` lists). */
export function listTokens(db: Executor, limit: number): Promise<Array<Omit<TokenRow, 'secretHash'>>> {
  return query(db, (q) =>
    q
      .select({ id: tokens.id, principal: tokens.principal, role: tokens.role, namespaces: tokens.namespaces, createdAt: tokens.createdAt, createdBy: tokens.createdBy, expiresAt: tokens.expiresAt, revokedAt: tokens.revokedAt })
      .from(tokens)
      .orderBy(desc(tokens.createdAt), desc(tokens.id))
      .limit(limit),
  );
}

export async function countTokens(db: Executor): Promise<number> {
  return (await query(db, (q) => q.select({ id: tokens.id }).from(tokens).limit(1))).length;
}

// Allowlist

export type AllowlistBuilderRow = typeof allowlistBuilders.$inferSelect;

/** Replaces the entry's signers, and its builders when given (left out: kept as they are). */
export async function upsertAllowlist(
  db: Executor,
  pattern: string,
  signers: Array<{ kind: 'key' | 'identity'; value: string; fingerprint: string; ca: string | null }>,
  at: string,
  builders?: Array<{ builderId: string; kind: 'key' | 'identity'; value: string; fingerprint: string; ca: string | null }>,
): Promise<void> {
  await query(db, (q) => q.insert(allowlist).values({ pattern, createdAt: at, updatedAt: at }).onConflictDoUpdate({ target: allowlist.pattern, set: { updatedAt: at } }));
  await query(db, (q) => q.delete(allowlistSigners).where(eq(allowlistSigners.pattern, pattern)));
  for (const s of signers) await query(db, (q) => q.insert(allowlistSigners).values({ pattern, ...s }));
  if (builders === undefined) return;
  await query(db, (q) => q.delete(allowlistBuilders).where(eq(allowlistBuilders.pattern, pattern)));
  for (const b of builders) await query(db, (q) => q.insert(allowlistBuilders).values({ pattern, ...b }));
}

export async function deleteAllowlist(db: Executor, pattern: string): Promise<boolean> {
  return (await query(db, (q) => q.delete(allowlist).where(eq(allowlist.pattern, pattern)).returning({ pattern: allowlist.pattern }))).length > 0;
}

export async function listAllowlist(db: Executor): Promise<Array<{ pattern: string; createdAt: string; updatedAt: string; signers: AllowlistSignerRow[]; builders: AllowlistBuilderRow[] }>> {
  // Every publish reads it (sqlite-direct.ts: plain SQL on SQLite).
  const entries = await direct(db, (c) => c.prepare(`SELECT ${columnsOf(allowlist)} FROM allowlist ORDER BY pattern`).all() as Array<typeof allowlist.$inferSelect>, (q) => q.select().from(allowlist).orderBy(asc(allowlist.pattern)).execute());
  const signers = await direct(db, (c) => c.prepare(`SELECT ${columnsOf(allowlistSigners)} FROM allowlist_signers ORDER BY id`).all() as AllowlistSignerRow[], (q) => q.select().from(allowlistSigners).orderBy(asc(allowlistSigners.id)).execute());
  const builders = await direct(db, (c) => c.prepare(`SELECT ${columnsOf(allowlistBuilders)} FROM allowlist_builders ORDER BY id`).all() as AllowlistBuilderRow[], (q) => q.select().from(allowlistBuilders).orderBy(asc(allowlistBuilders.id)).execute());
  return entries.map((e) => ({ ...e, signers: signers.filter((s) => s.pattern === e.pattern), builders: builders.filter((b) => b.pattern === e.pattern) }));
}

// Reviewers and CAs

export async function insertReviewer(db: Executor, row: typeof reviewers.$inferInsert): Promise<void> {
  await query(db, (q) => q.insert(reviewers).values(row).onConflictDoNothing());
}

export function listReviewers(db: Executor): Promise<ReviewerRow[]> {
  return query(db, (q) => q.select().from(reviewers).orderBy(asc(reviewers.principal), asc(reviewers.fingerprint)));
}

/** Removes a reviewer's bindings: the one with `fingerprint`, or all of them. The rows removed. */
export function deleteReviewer(db: Executor, principal: string, fingerprint?: string): Promise<ReviewerRow[]> {
  const where = fingerprint === undefined ? eq(reviewers.principal, principal) : and(eq(reviewers.principal, principal), eq(reviewers.fingerprint, fingerprint));
  return query(db, (q) => q.delete(reviewers).where(where).returning());
}

/**
 * The stored fingerprint of a certificate identity: the identity, then a space and the CA it is
 * bound to. Identities hold no whitespace, so it is unambiguous; the same identity under two CAs
 * is two signers (two rows), and an unbound identity keeps its old fingerprint, the identity.
 */
export function identityFingerprint(identity: string, ca: string | null | undefined): string {
  return ca ? `${identity} ${ca}` : identity;
}

/**
 * Binds every identity without a CA (allowlist signers, builders, reviewers) to `ca`, the one CA
 * they meant while it was the only one. An unbound row whose bound twin already exists is
 * dropped (they were the same signer). The number of rows bound or merged.
 */
export async function bindUnboundIdentities(db: Executor, ca: string): Promise<number> {
  let bound = 0;
  for (const row of await query(db, (q) => q.select().from(allowlistSigners).where(and(eq(allowlistSigners.kind, 'identity'), isNull(allowlistSigners.ca))))) {
    const fingerprint = identityFingerprint(row.value, ca);
    const twin = await query(db, (q) => q.select({ id: allowlistSigners.id }).from(allowlistSigners).where(and(eq(allowlistSigners.pattern, row.pattern), eq(allowlistSigners.fingerprint, fingerprint))));
    if (twin.length > 0) await query(db, (q) => q.delete(allowlistSigners).where(eq(allowlistSigners.id, row.id)));
    else await query(db, (q) => q.update(allowlistSigners).set({ ca, fingerprint }).where(eq(allowlistSigners.id, row.id)));
    bound++;
  }
  for (const row of await query(db, (q) => q.select().from(allowlistBuilders).where(and(eq(allowlistBuilders.kind, 'identity'), isNull(allowlistBuilders.ca))))) {
    const fingerprint = identityFingerprint(row.value, ca);
    const twin = await query(db, (q) =>
      q
        .select({ id: allowlistBuilders.id })
        .from(allowlistBuilders)
        .where(and(eq(allowlistBuilders.pattern, row.pattern), eq(allowlistBuilders.builderId, row.builderId), eq(allowlistBuilders.fingerprint, fingerprint))),
    );
    if (twin.length > 0) await query(db, (q) => q.delete(allowlistBuilders).where(eq(allowlistBuilders.id, row.id)));
    else await query(db, (q) => q.update(allowlistBuilders).set({ ca, fingerprint }).where(eq(allowlistBuilders.id, row.id)));
    bound++;
  }
  for (const row of await query(db, (q) => q.select().from(reviewers).where(and(eq(reviewers.kind, 'identity'), isNull(reviewers.ca))))) {
    const fingerprint = identityFingerprint(row.value, ca);
    const twin = await query(db, (q) => q.select({ p: reviewers.principal }).from(reviewers).where(and(eq(reviewers.principal, row.principal), eq(reviewers.fingerprint, fingerprint))));
    if (twin.length === 0) await query(db, (q) => q.update(reviewers).set({ ca, fingerprint }).where(and(eq(reviewers.principal, row.principal), eq(reviewers.fingerprint, row.fingerprint))));
    else await query(db, (q) => q.delete(reviewers).where(and(eq(reviewers.principal, row.principal), eq(reviewers.fingerprint, row.fingerprint))));
    bound++;
  }
  return bound;
}

export async function insertCertificateAuthority(db: Executor, row: typeof certificateAuthorities.$inferInsert): Promise<void> {
  await query(db, (q) => q.insert(certificateAuthorities).values(row).onConflictDoNothing());
}

export function listCertificateAuthorities(db: Executor): Promise<Array<typeof certificateAuthorities.$inferSelect>> {
  return direct(
    db,
    (c) => c.prepare(`SELECT ${columnsOf(certificateAuthorities)} FROM certificate_authorities ORDER BY created_at, fingerprint`).all() as Array<typeof certificateAuthorities.$inferSelect>,
    (q) => q.select().from(certificateAuthorities).orderBy(asc(certificateAuthorities.createdAt), asc(certificateAuthorities.fingerprint)).execute(),
  );
}

// Servers and versions

export async function serverByName(db: Executor, name: string): Promise<ServerRow | undefined> {
  return direct(
    db,
    (c) => c.prepare(`SELECT ${columnsOf(servers)} FROM servers WHERE name = ? LIMIT 1`).get(name) as ServerRow | undefined,
    async (q) => (await q.select().from(servers).where(eq(servers.name, name)).limit(1))[0],
  );
}

/** The server whose name equals `name` ignoring case (names are ASCII), through `servers_name_lower_idx`. */
export async function serverByFoldedName(db: Executor, name: string): Promise<ServerRow | undefined> {
  return (await query(db, (q) => q.select().from(servers).where(sql`lower(${servers.name}) = lower(${name})`).limit(1)))[0];
}

export function allServers(db: Executor): Promise<ServerRow[]> {
  return query(db, (q) => q.select().from(servers));
}

/** A version of the server that is not rejected (pending, approved or revoked), through `versions_server_status_idx`. */
const holdsItsName = sql`exists (select 1 from ${versions} where ${versions.server} = ${servers.name} and ${versions.status} <> 'rejected')`;

/**
 * The servers that hold their name against look-alikes (the publish's NAME_CONFUSABLE check):
 * those with a version pending review, approved, or revoked (hosts trusted it once). A server
 * whose every version was rejected was never trusted by anyone and holds nothing, so a reviewer
 * rejecting a squatted look-alike frees the real name.
 */
export function nameHoldingServers(db: Executor): Promise<ServerRow[]> {
  return query(db, (q) => q.select().from(servers).where(holdsItsName));
}

/** Whether the server `name` exists and holds its name ({@link nameHoldingServers}). */
export async function holdsName(db: Executor, name: string): Promise<boolean> {
  return (await query(db, (q) => q.select({ name: servers.name }).from(servers).where(and(eq(servers.name, name), holdsItsName)).limit(1))).length > 0;
}

export async function insertServer(db: Executor, row: typeof servers.$inferInsert): Promise<void> {
  await query(db, (q) => q.insert(servers).values(row).onConflictDoNothing());
}

export function searchServers(db: Executor, search: string | undefined, after: string | undefined, limit: number): Promise<ServerRow[]> {
  const conditions: SQL[] = [];
  if (search) conditions.push(nameContains(search));
  if (after) conditions.push(gt(servers.name, after));
  return query(db, (q) =>
    q
      .select()
      .from(servers)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(asc(servers.name))
      .limit(limit),
  );
}

export async function versionOf(db: Executor, server: string, version: string): Promise<VersionRow | undefined> {
  return (
    await rows(
      db,
      (s) => s.version.all({ server, version }),
      (q) => q.select().from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1).execute(),
    )
  )[0];
}

export async function isTombstoned(db: Executor, server: string, version: string): Promise<boolean> {
  return direct(
    db,
    (c) => c.prepare('SELECT 1 FROM tombstones WHERE server = ? AND version = ? LIMIT 1').get(server, version) !== undefined,
    async (q) =>
      (
        await q
          .select({ server: tombstones.server })
          .from(tombstones)
          .where(and(eq(tombstones.server, server), eq(tombstones.version, version)))
          .limit(1)
      ).length > 0,
  );
}

export function versionsOf(db: Executor, server: string): Promise<VersionRow[]> {
  return query(db, (q) => q.select().from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)));
}

/** Inserts a version and indexes its tool names (for the shadowing check). */
export async function insertVersion(db: Executor, given: typeof versions.$inferInsert): Promise<VersionRow> {
  const parsed = JSON.parse(given.manifest) as { tools?: Array<{ name?: unknown }> };
  // The v0.1 server object's text, made here from the stored text so every insert has it.
  const row = { ...given, serverJson: serverJsonFrom(parsed) };
  const [inserted] = await direct(
    db,
    (c) => {
      const insert = insertOf(versions, row);
      return c.prepare(`${insert.sql} RETURNING ${columnsOf(versions)}`).all(...insert.params) as VersionRow[];
    },
    (q) => q.insert(versions).values(row).returning().execute(),
  );
  if (!inserted) throw new Error('an insert returning no row');
  const tools = parsed.tools ?? [];
  const names = [...new Set(tools.map((t) => t.name).filter((n): n is string => typeof n === 'string'))];
  if (names.length) {
    await direct(
      db,
      (c) => {
        // One statement for every name (a JSON array parameter), whatever their number.
        c.prepare('INSERT INTO version_tools (version_id, server, tool) SELECT ?, ?, value FROM json_each(?)').run(inserted.id, inserted.server, JSON.stringify(names));
      },
      async (q) => {
        await q.insert(versionTools).values(names.map((tool) => ({ versionId: inserted.id, server: inserted.server, tool })));
      },
    );
  }
  return inserted;
}

/**
 * Approved servers other than `server` that expose a tool named like one of `tools`, with those
 * tool names: every one of them, found through the tool-name index.
 */
export async function approvedToolOwners(db: Executor, tools: readonly string[], server: string): Promise<Array<{ server: string; tools: string[] }>> {
  if (tools.length === 0) return [];
  const found = await direct(
    db,
    (c) =>
      c
        .prepare(
          "SELECT DISTINCT version_tools.server AS server, version_tools.tool AS tool FROM version_tools INNER JOIN versions ON versions.id = version_tools.version_id WHERE version_tools.tool IN (SELECT value FROM json_each(?)) AND versions.status = 'approved' AND version_tools.server <> ? ORDER BY version_tools.server, version_tools.tool",
        )
        .all(JSON.stringify(tools), server) as Array<{ server: string; tool: string }>,
    (q) =>
      q
        .selectDistinct({ server: versionTools.server, tool: versionTools.tool })
        .from(versionTools)
        .innerJoin(versions, eq(versions.id, versionTools.versionId))
        .where(and(inArray(versionTools.tool, [...tools]), eq(versions.status, 'approved'), ne(versionTools.server, server)))
        .orderBy(asc(versionTools.server), asc(versionTools.tool))
        .execute(),
  );
  const owners = new Map<string, string[]>();
  for (const r of found) owners.set(r.server, [...(owners.get(r.server) ?? []), r.tool]);
  return [...owners].map(([name, names]) => ({ server: name, tools: names }));
}

export async function setVersionStatus(db: Executor, id: number, set: Partial<Pick<VersionRow, 'status' | 'rejectionReason' | 'rejectedBy' | 'rejectedAt' | 'revocationReason' | 'revokedBy' | 'revokedAt'>>): Promise<void> {
  await query(db, (q) => q.update(versions).set(set).where(eq(versions.id, id)));
}

export interface VersionFilter {
  status?: VersionRow['status'] | undefined;
  /** Exact namespace, whatever its case: versions of servers named `<namespace>/…`. */
  namespace?: string | undefined;
  publisher?: string | undefined;
  risk?: VersionRow['risk'] | undefined;
  /** Only versions with an id above this one (the cursor of the previous page). */
  afterId?: number | undefined;
}

/** Versions matching every filter given, oldest first, at most `limit`. */
export function versionsByStatus(db: Executor, filter: VersionFilter | VersionRow['status'] | undefined, limit: number): Promise<VersionRow[]> {
  const f: VersionFilter = typeof filter === 'object' ? filter : { status: filter };
  const conditions: SQL[] = [];
  if (f.status) conditions.push(eq(versions.status, f.status));
  if (f.namespace) conditions.push(inNamespace(f.namespace));
  if (f.publisher) conditions.push(eq(versions.publisher, f.publisher));
  if (f.risk) conditions.push(eq(versions.risk, f.risk));
  if (f.afterId !== undefined) conditions.push(gt(versions.id, f.afterId));
  return query(db, (q) =>
    q
      .select()
      .from(versions)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(asc(versions.id))
      .limit(limit),
  );
}

/**
 * Versions of servers named `<namespace>/…`, whatever the case of either: namespaces compare
 * case-insensitively (token patterns and the allowlist match `io.github.ACME` as `io.github.acme`),
 * so a case variant is the same namespace for its pending quota and the review queue filter.
 * Names are ASCII, where SQLite's and PostgreSQL's `lower` agree with JavaScript's.
 */
function inNamespace(namespace: string): SQL {
  return sql`lower(substr(${versions.server}, 1, ${namespace.length + 1})) = ${`${namespace.toLowerCase()}/`}`;
}

/**
 * How many versions of the namespace's servers wait for review (whatever the case of its name).
 * Every publish asks, so it is one range of versions_status_server_idx (status, lower(server)):
 * the names from `ns/` up to `ns0` ('0' follows '/'), exactly those starting `ns/`, in byte order
 * (COLLATE "C" on PostgreSQL, as the index is there: schema-pg.ts). Names are ASCII, where both
 * dialects' `lower` agree with JavaScript's.
 */
export async function countPending(db: Executor, namespace: string): Promise<number> {
  const from = `${namespace.toLowerCase()}/`;
  const to = `${namespace.toLowerCase()}0`;
  const [row] = await direct(
    db,
    (c) => c.prepare("SELECT count(*) AS n FROM versions WHERE status = 'pending' AND lower(server) >= ? AND lower(server) < ?").all(from, to) as Array<{ n: number }>,
    (q) =>
      q
        .select({ n: sql<number>`count(*)` })
        .from(versions)
        .where(and(eq(versions.status, 'pending'), sql`lower(${versions.server}) COLLATE "C" >= ${from}`, sql`lower(${versions.server}) COLLATE "C" < ${to}`))
        .execute(),
  );
  // PostgreSQL's count(*) is a bigint, which its driver hands over as a string.
  return Number(row?.n ?? 0);
}

/** Approved versions of other servers, newest first (for tool-shadowing checks). */
export function approvedVersions(db: Executor, limit: number): Promise<VersionRow[]> {
  return query(db, (q) => q.select().from(versions).where(eq(versions.status, 'approved')).orderBy(desc(versions.id)).limit(limit));
}

// Approvals

export function approvalsOf(db: Executor, versionId: number): Promise<ApprovalRow[]> {
  return rows(
    db,
    (s) => s.approvals.all({ id: versionId }),
    (q) => q.select().from(approvals).where(eq(approvals.versionId, versionId)).orderBy(asc(approvals.id)).execute(),
  );
}

export async function insertApproval(db: Executor, row: typeof approvals.$inferInsert): Promise<void> {
  await query(db, (q) => q.insert(approvals).values(row));
}

export async function approvalByReviewerOrKey(db: Executor, versionId: number, reviewer: string, fingerprint: string): Promise<ApprovalRow | undefined> {
  const found = await query(db, (q) =>
    q
      .select()
      .from(approvals)
      .where(and(eq(approvals.versionId, versionId), or(eq(approvals.reviewer, reviewer), eq(approvals.signerFingerprint, fingerprint))))
      .limit(1),
  );
  return found[0];
}
