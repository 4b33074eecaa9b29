import { and, asc, desc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Db, Executor } from './database.js';
import { clientOf, readToken } from './reads.js';
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
function prepare(db: Executor) {
  return {
    tokenByHash: db.select().from(tokens).where(eq(tokens.secretHash, sql.placeholder('hash'))).prepare(),
    version: db
      .select()
      .from(versions)
      .where(and(eq(versions.server, sql.placeholder('server')), eq(versions.version, sql.placeholder('version'))))
      .prepare(),
    approvals: db.select().from(approvals).where(eq(approvals.versionId, sql.placeholder('id'))).orderBy(asc(approvals.id)).prepare(),
  };
}
function statements(db: Executor): ReturnType<typeof prepare> {
  let s = prepared.get(db);
  if (!s) {
    s = prepare(db);
    prepared.set(db, s);
  }
  return s;
}

// Principals and tokens

export function ensurePrincipal(db: Executor, name: string, at: string): void {
  db.insert(principals).values({ name, createdAt: at }).onConflictDoNothing().run();
}

export function insertToken(db: Executor, row: typeof tokens.$inferInsert): void {
  db.insert(tokens).values(row).run();
}

export function tokenBySecretHash(db: Executor, secretHash: string): TokenRow | undefined {
  // Every authenticated request reads this: through the plain prepared statement when the handle has one.
  if (clientOf(db)) return readToken(db as Db, secretHash);
  return statements(db).tokenByHash.get({ hash: secretHash });
}

export function tokenById(db: Executor, id: string): TokenRow | undefined {
  return db.select().from(tokens).where(eq(tokens.id, id)).get();
}

export function revokeToken(db: Executor, id: string, at: string): boolean {
  return db.update(tokens).set({ revokedAt: at }).where(and(eq(tokens.id, id), isNull(tokens.revokedAt))).run().changes > 0;
}

/** Tokens, newest first, without their secret hashes (what `GET /v1/tokens` lists). */
export function listTokens(db: Executor, limit: number): Array<Omit<TokenRow, 'secretHash'>> {
  return db
    .select({ id: tokens.id, principal: tokens.principal, role: tokens.role, namespaces: tokens.namespaces, createdAt: tokens.createdAt, createdBy: tokens.createdBy, expiresAt: tokens.expiresAt, revokedAt: tokens.revokedAt })
    .from(tokens)
    .orderBy(desc(tokens.createdAt), desc(tokens.id))
    .limit(limit)
    .all();
}

export function countTokens(db: Executor): number {
  return db.select({ id: tokens.id }).from(tokens).limit(1).all().length;
}

// Allowlist

export type AllowlistBuilderRow = typeof allowlistBuilders.$inferSelect;

/** Replaces the entry's signers, and its builders when given (left out: kept as they are). */
export function upsertAllowlist(
  db: Executor,
  pattern: string,
  signers: Array<{ kind: 'key' | 'identity'; value: string; fingerprint: string }>,
  at: string,
  builders?: Array<{ builderId: string; kind: 'key' | 'identity'; value: string; fingerprint: string }>,
): void {
  db.insert(allowlist).values({ pattern, createdAt: at, updatedAt: at }).onConflictDoUpdate({ target: allowlist.pattern, set: { updatedAt: at } }).run();
  db.delete(allowlistSigners).where(eq(allowlistSigners.pattern, pattern)).run();
  for (const s of signers) db.insert(allowlistSigners).values({ pattern, ...s }).run();
  if (builders === undefined) return;
  db.delete(allowlistBuilders).where(eq(allowlistBuilders.pattern, pattern)).run();
  for (const b of builders) db.insert(allowlistBuilders).values({ pattern, ...b }).run();
}

export function deleteAllowlist(db: Executor, pattern: string): boolean {
  return db.delete(allowlist).where(eq(allowlist.pattern, pattern)).run().changes > 0;
}

export function listAllowlist(db: Executor): Array<{ pattern: string; createdAt: string; updatedAt: string; signers: AllowlistSignerRow[]; builders: AllowlistBuilderRow[] }> {
  const entries = db.select().from(allowlist).orderBy(asc(allowlist.pattern)).all();
  const signers = db.select().from(allowlistSigners).all();
  const builders = db.select().from(allowlistBuilders).orderBy(asc(allowlistBuilders.id)).all();
  return entries.map((e) => ({ ...e, signers: signers.filter((s) => s.pattern === e.pattern), builders: builders.filter((b) => b.pattern === e.pattern) }));
}

// Reviewers and CAs

export function insertReviewer(db: Executor, row: typeof reviewers.$inferInsert): void {
  db.insert(reviewers).values(row).onConflictDoNothing().run();
}

export function listReviewers(db: Executor): ReviewerRow[] {
  return db.select().from(reviewers).orderBy(asc(reviewers.principal)).all();
}

export function insertCertificateAuthority(db: Executor, row: typeof certificateAuthorities.$inferInsert): void {
  db.insert(certificateAuthorities).values(row).onConflictDoNothing().run();
}

export function listCertificateAuthorities(db: Executor): Array<typeof certificateAuthorities.$inferSelect> {
  return db.select().from(certificateAuthorities).orderBy(asc(certificateAuthorities.createdAt)).all();
}

// Servers and versions

export function serverByName(db: Executor, name: string): ServerRow | undefined {
  return db.select().from(servers).where(eq(servers.name, name)).get();
}

/** The server whose name equals `name` ignoring case (names are ASCII), through `servers_name_lower_idx`. */
export function serverByFoldedName(db: Executor, name: string): ServerRow | undefined {
  return db.select().from(servers).where(sql`lower(${servers.name}) = lower(${name})`).get();
}

export function allServers(db: Executor): ServerRow[] {
  return db.select().from(servers).all();
}

export function insertServer(db: Executor, row: typeof servers.$inferInsert): void {
  db.insert(servers).values(row).onConflictDoNothing().run();
}

export function searchServers(db: Executor, search: string | undefined, after: string | undefined, limit: number): ServerRow[] {
  const conditions = [];
  // LIKE treats `%` and `_` as wildcards and has no escape character unless ESCAPE names one:
  // escape both, and the escape character itself, so the search text matches literally.
  if (search) conditions.push(sql`${servers.name} LIKE ${`%${search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'`);
  if (after) conditions.push(gt(servers.name, after));
  return db
    .select()
    .from(servers)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(asc(servers.name))
    .limit(limit)
    .all();
}

export function versionOf(db: Executor, server: string, version: string): VersionRow | undefined {
  return statements(db).version.get({ server, version });
}

export function isTombstoned(db: Executor, server: string, version: string): boolean {
  return db.select().from(tombstones).where(and(eq(tombstones.server, server), eq(tombstones.version, version))).get() !== undefined;
}

export function versionsOf(db: Executor, server: string): VersionRow[] {
  return db.select().from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)).all();
}

/** Inserts a version and indexes its tool names (for the shadowing check). */
export function insertVersion(db: Executor, row: typeof versions.$inferInsert): VersionRow {
  const inserted = db.insert(versions).values(row).returning().get();
  const tools = (JSON.parse(row.manifest) as { tools?: Array<{ name?: unknown }> }).tools ?? [];
  const names = [...new Set(tools.map((t) => t.name).filter((n): n is string => typeof n === 'string'))];
  if (names.length) db.insert(versionTools).values(names.map((tool) => ({ versionId: inserted.id, server: inserted.server, tool }))).run();
  return inserted;
}

/**
 * Approved servers other than `server` that expose a tool named like one of `tools`, with those
 * tool names: every one of them, found through the tool-name index.
 */
export function approvedToolOwners(db: Executor, tools: readonly string[], server: string): Array<{ server: string; tools: string[] }> {
  if (tools.length === 0) return [];
  const rows = db
    .selectDistinct({ server: versionTools.server, tool: versionTools.tool })
    .from(versionTools)
    .innerJoin(versions, eq(versions.id, versionTools.versionId))
    .where(and(inArray(versionTools.tool, [...tools]), eq(versions.status, 'approved'), ne(versionTools.server, server)))
    .orderBy(asc(versionTools.server), asc(versionTools.tool))
    .all();
  const owners = new Map<string, string[]>();
  for (const r of rows) owners.set(r.server, [...(owners.get(r.server) ?? []), r.tool]);
  return [...owners].map(([name, names]) => ({ server: name, tools: names }));
}

export function setVersionStatus(db: Executor, id: number, set: Partial<Pick<VersionRow, 'status' | 'rejectionReason' | 'rejectedBy' | 'rejectedAt' | 'revocationReason' | 'revokedBy' | 'revokedAt'>>): void {
  db.update(versions).set(set).where(eq(versions.id, id)).run();
}

export interface VersionFilter {
  status?: VersionRow['status'] | undefined;
  /** Exact namespace: versions of servers named `<namespace>/…`. */
  namespace?: string | undefined;
  publisher?: string | undefined;
  risk?: VersionRow['risk'] | undefined;
  /** Only versions with an id above this one (the cursor of the previous page). */
  afterId?: number | undefined;
}

/** Versions matching every filter given, oldest first, at most `limit`. */
export function versionsByStatus(db: Executor, filter: VersionFilter | VersionRow['status'] | undefined, limit: number): VersionRow[] {
  const f: VersionFilter = typeof filter === 'object' ? filter : { status: filter };
  const conditions = [];
  if (f.status) conditions.push(eq(versions.status, f.status));
  if (f.namespace) conditions.push(sql`substr(${versions.server}, 1, ${f.namespace.length + 1}) = ${`${f.namespace}/`}`);
  if (f.publisher) conditions.push(eq(versions.publisher, f.publisher));
  if (f.risk) conditions.push(eq(versions.risk, f.risk));
  if (f.afterId !== undefined) conditions.push(gt(versions.id, f.afterId));
  return db
    .select()
    .from(versions)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(asc(versions.id))
    .limit(limit)
    .all();
}

/** How many versions of the namespace's servers wait for review. */
export function countPending(db: Executor, namespace: string): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(versions)
      .where(and(eq(versions.status, 'pending'), sql`substr(${versions.server}, 1, ${namespace.length + 1}) = ${`${namespace}/`}`))
      .get()?.n ?? 0
  );
}

/** Approved versions of other servers, newest first (for tool-shadowing checks). */
export function approvedVersions(db: Executor, limit: number): VersionRow[] {
  return db.select().from(versions).where(eq(versions.status, 'approved')).orderBy(desc(versions.id)).limit(limit).all();
}

// Approvals

export function approvalsOf(db: Executor, versionId: number): ApprovalRow[] {
  return statements(db).approvals.all({ id: versionId });
}

export function insertApproval(db: Executor, row: typeof approvals.$inferInsert): void {
  db.insert(approvals).values(row).run();
}

export function approvalByReviewerOrKey(db: Executor, versionId: number, reviewer: string, fingerprint: string): ApprovalRow | undefined {
  return db
    .select()
    .from(approvals)
    .where(and(eq(approvals.versionId, versionId), or(eq(approvals.reviewer, reviewer), eq(approvals.signerFingerprint, fingerprint))))
    .get();
}
