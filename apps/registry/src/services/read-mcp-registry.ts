import {
  readApprovalDigests,
  readApprovalDigestsOf,
  readApprovedPage,
  readApprovedVersions,
  readListedVersions,
  readMcpItems,
  readTokenAndApproved,
  readVersionWithApprovalDigests,
  type ListedVersionRow,
  type McpItemRow,
  type TokenAuthRow,
} from '@sigil/db';
import { compareVersions, type McpServerResponse } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { cursorGiven, decodeCursor } from './cursor.js';

/** The `_meta` key under which Sigil's own facts about a version travel in the v0.1 API. */
export const SIGIL_META_KEY = 'dev.sigil.registry/verification';
const OFFICIAL_META_KEY = 'io.modelcontextprotocol.registry/official';

/**
 * Only approved versions are served: pending, rejected and revoked ones (revocation is a status
 * of its own) never appear, so a host reading this API sees exactly what the organisation allows.
 */
async function approved(deps: Deps, name: string): Promise<Array<{ id: number; version: string }>> {
  return newestFirst(await readApprovedVersions(deps.db, name));
}

function newestFirst(versions: Array<{ id: number; version: string }>): Array<{ id: number; version: string }> {
  return versions.sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * One approved version's answer: only the rows served are read in full (the row and its
 * approval digests, together). Inside a snapshot the row read is the approved one listed;
 * outside one it may have been revoked since, and then there is no answer (undefined) rather
 * than a revoked version served as approved.
 */
async function answer(deps: Deps, name: string, v: { id: number }, latest: boolean, origin: string): Promise<McpServerResponse | undefined> {
  const found = await readVersionWithApprovalDigests(deps.db, v.id);
  if (!found) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
  const { bundle: _bundle, provenance, ...row } = found.row;
  return response(deps, { ...row, hasProvenance: provenance }, latest, origin, found.approvals);
}

/** Within one snapshot a version listed as approved is read as approved: anything else is a bug here, never served. */
function listed<T>(item: T | undefined, name: string): T {
  if (item === undefined) throw new Error(`a version of ${name} listed as approved was read as not approved: the page's reads are not one snapshot`);
  return item;
}

const servedServers = new WeakMap<Deps, Map<number, { manifest: string; server: McpServerResponse['server'] }>>();

/**
 * The manifest without its tools and instructions: the server.json part a v0.1 answer carries.
 * Parsing the whole manifest was most of an answer's cost, so the part is kept per version beside
 * the stored text it was made from, and made again whenever the text just read differs (the
 * database still answers every read; a manifest changed behind the registry's back is served as
 * it now is). Frozen, since answers share it. Bounded: cleared at 5,000 versions.
 */
function serverPart(deps: Deps, row: ListedVersionRow): McpServerResponse['server'] {
  let kept = servedServers.get(deps);
  if (!kept) servedServers.set(deps, (kept = new Map()));
  const hit = kept.get(row.id);
  if (hit && hit.manifest === row.manifest) return hit.server;
  const { tools: _tools, instructions: _instructions, ...server } = JSON.parse(row.manifest) as Record<string, unknown>;
  const frozen = deepFreeze(server) as McpServerResponse['server'];
  if (kept.size >= 5_000) kept.clear();
  kept.set(row.id, { manifest: row.manifest, server: frozen });
  return frozen;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

type ApprovalDigest = { digest: string; createdAt: string };

async function response(deps: Deps, row: ListedVersionRow, latest: boolean, origin: string, approvalDigests?: readonly ApprovalDigest[]): Promise<McpServerResponse | undefined> {
  if (row.status !== 'approved') return undefined;
  const server = serverPart(deps, row);
  const approvals = approvalDigests ?? (await readApprovalDigests(deps.db, row.id));
  const updatedAt = approvals.map((a) => a.createdAt).sort().at(-1) ?? row.publishedAt;
  const record = `${origin}/v1/servers/${row.server}/versions/${encodeURIComponent(row.version)}`;
  return {
    server,
    _meta: {
      [OFFICIAL_META_KEY]: { status: 'active', publishedAt: row.publishedAt, updatedAt, isLatest: latest },
      [SIGIL_META_KEY]: {
        status: 'approved',
        digest: row.digest,
        toolsDigest: row.toolsDigest,
        risk: row.risk,
        publisher: row.publisher,
        signer: { kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) },
        approvals: approvals.map((a) => a.digest),
        record,
        bundles: { manifest: `${record}#/bundle`, approvals: `${record}#/approvals`, ...(row.hasProvenance ? { provenance: `${record}#/provenance` } : {}) },
        statusUrl: `${origin}/v1/status`,
      },
    },
  };
}

/** A version's answer as JSON text, with its updatedAt (what `updated_since` compares); undefined when it is not approved. */
type Item = { text: string; updatedAt: string } | undefined;

const servedTexts = new WeakMap<Deps, Map<number, { manifest: string; server: string }>>();

/**
 * The server.json part of a version's answer as JSON text: the manifest without its tools and
 * instructions, as JSON.stringify writes it. Parsing the manifest was most of a page's cost, so
 * the text is kept per version beside the stored manifest text it was made from, and made again
 * whenever the text just read differs: the database still answers every read, and a manifest
 * changed behind the registry's back is served as it now is (serverPart keeps the object the
 * same way). Bounded: cleared at 5,000 versions.
 */
function serverText(deps: Deps, id: number, manifest: string): string {
  let kept = servedTexts.get(deps);
  if (!kept) servedTexts.set(deps, (kept = new Map()));
  const hit = kept.get(id);
  if (hit && hit.manifest === manifest) return hit.server;
  const { tools: _tools, instructions: _instructions, ...server } = JSON.parse(manifest) as Record<string, unknown>;
  const text = JSON.stringify(server);
  if (kept.size >= 5_000) kept.clear();
  kept.set(id, { manifest, server: text });
  return text;
}

/**
 * The answers of these versions (within one snapshot, or a version revoked meanwhile is read as
 * not approved). On SQLite made by one statement (readMcpItems) and spliced with the
 * server part ({@link serverText}); a version whose text SQLite does not make, and every version
 * on PostgreSQL, is answered from its row by {@link response}. Either way the
 * text is what JSON.stringify writes for {@link response}'s object (a test holds them together).
 */
async function readItems(deps: Deps, wanted: ReadonlyArray<{ id: number; latest: boolean }>, origin: string, into: Map<number, Item>): Promise<void> {
  if (wanted.length === 0) return;
  const latest = new Map(wanted.map((w) => [w.id, w.latest]));
  const texts = readMcpItems(deps.db, wanted, origin);
  let rest: number[] = [];
  if (texts) {
    for (const row of (await texts) as McpItemRow[]) {
      if (row.status !== 'approved') into.set(row.id, undefined);
      else if (row.manifest !== null && row.rest !== null) into.set(row.id, { text: `{"server":${serverText(deps, row.id, row.manifest)}${row.rest}`, updatedAt: row.updatedAt as string });
      else rest.push(row.id);
    }
  } else rest = wanted.map((w) => w.id);
  if (rest.length === 0) return;
  // The rows and approval digests of the others, read together (two statements, not two per version).
  const [rows, digests] = await Promise.all([readListedVersions(deps.db, rest), readApprovalDigestsOf(deps.db, rest)]);
  const approvals = new Map<number, ApprovalDigest[]>(rows.map((r) => [r.id, []]));
  for (const d of digests) approvals.get(d.versionId)?.push({ digest: d.digest, createdAt: d.createdAt });
  for (const row of rows) {
    const item = await response(deps, row, latest.get(row.id)!, origin, approvals.get(row.id));
    into.set(row.id, item && { text: JSON.stringify(item), updatedAt: (item._meta?.[OFFICIAL_META_KEY] as { updatedAt: string }).updatedAt });
  }
}

/** The item of a version listed as approved, read into `items` now unless it was read ahead. */
async function itemOf(deps: Deps, name: string, v: { id: number }, latest: boolean, origin: string, items: Map<number, Item>): Promise<NonNullable<Item>> {
  if (!items.has(v.id)) await readItems(deps, [{ id: v.id, latest }], origin, items);
  if (!items.has(v.id)) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
  return listed(items.get(v.id), name);
}

/** A page of answers as the JSON text JSON.stringify writes for the McpServerList shape. */
function pageText(items: readonly string[], next?: string): string {
  return `{"servers":[${items.join(',')}],"metadata":{"count":${items.length}${next ? `,"nextCursor":${JSON.stringify(next)}` : ''}}}`;
}

/** Rounds of reads one page makes at most (bounding a request); a page cut short by them still ends with a cursor. */
const MAX_ROUNDS = 50;

/**
 * `GET /v0.1/servers`: servers by name with their approved versions (only the newest with
 * `version=latest`), as JSON text (the McpServerList shape). Every read of a page (the servers and
 * their approved versions, then the answers of those served, in one round or several) is made on
 * one snapshot (Db.snapshot): a version revoked while the page is read is either listed and read
 * as approved, or neither; never listed by one read and served from a later one that saw it revoked.
 */
export function listMcpServers(
  deps: Deps,
  q: { cursor?: string | undefined; limit: number; search?: string | undefined; updatedSince?: string | undefined; version?: string | undefined },
  origin: string,
): Promise<string> {
  return deps.db.snapshot(() => listPage(deps, q, origin));
}

async function listPage(
  deps: Deps,
  q: { cursor?: string | undefined; limit: number; search?: string | undefined; updatedSince?: string | undefined; version?: string | undefined },
  origin: string,
): Promise<string> {
  const out: string[] = [];
  // The cursor is `<server name>\n<versions of it already served>`, so a page may end inside a server.
  const cursor = cursorGiven(q.cursor);
  const resume = cursor === undefined ? undefined : decodeCursor(cursor, true);
  const resumeName = resume?.name;
  let next: string | undefined;
  const choose = (versions: Array<{ id: number; version: string }>) => (q.version === undefined ? versions : q.version === 'latest' ? versions.slice(0, 1) : versions.filter((v) => v.version === q.version));
  // The answers of the versions a round will serve, read together (one statement for the page
  // on SQLite, not one per version); a version not read ahead is read on its own.
  const items = new Map<number, Item>();
  const take = async (name: string, versions: Array<{ id: number; version: string }>, skip: number): Promise<boolean> => {
    const chosen = choose(versions);
    for (let i = skip; i < chosen.length; i++) {
      if (out.length >= q.limit) {
        next = Buffer.from(`${name}\n${i}`, 'utf8').toString('base64url');
        return false;
      }
      const item = await itemOf(deps, name, chosen[i]!, chosen[i] === versions[0], origin, items);
      if (q.updatedSince === undefined || item.updatedAt >= q.updatedSince) out.push(item.text);
    }
    return true;
  };
  let after = resumeName;
  // How many of `after`'s chosen versions were walked (all of them, once it is passed).
  let walked = resume?.skip ?? 0;
  if (resumeName !== undefined && !(await take(resumeName, await approved(deps, resumeName), resume!.skip))) return pageText(out, next);
  // Servers without an approved version are skipped, so read pages of servers (each with its
  // approved versions, one statement a page) until the page fills: as many as the page could
  // use first, more each round after.
  let round = 0;
  for (; round < MAX_ROUNDS && next === undefined; round++) {
    const size = Math.min(200, (q.limit + 1) * 2 ** round);
    const rows = await readApprovedPage(deps.db, q.search, after, size);
    const servers = new Map<string, Array<{ id: number; version: string }>>();
    for (const r of rows) {
      let versions = servers.get(r.name);
      if (!versions) servers.set(r.name, (versions = []));
      if (r.id !== null && r.version !== null) versions.push({ id: r.id, version: r.version });
    }
    for (const versions of servers.values()) versions.sort((a, b) => compareVersions(b.version, a.version));
    // As many as the page still has room for (fewer are served when updated_since drops some).
    const wanted = [...servers.values()].flatMap((versions) => choose(versions).map((v) => ({ id: v.id, latest: v === versions[0] }))).slice(0, q.limit - out.length);
    await readItems(deps, wanted, origin, items);
    for (const [name, versions] of servers) {
      if (!(await take(name, versions, 0))) break;
      after = name;
      walked = choose(versions).length;
    }
    if (servers.size < size) break;
  }
  // The rounds ran out before the list did (a filter dropped most versions, or a long run of
  // servers has none approved): the page, even empty, ends with a cursor after the last server
  // walked, never without one, which a client reads as the end of the list.
  if (round === MAX_ROUNDS && next === undefined && after !== undefined) next = Buffer.from(`${after}\n${walked}`, 'utf8').toString('base64url');
  return pageText(out, next);
}

/** `GET /v0.1/servers/{serverName}/versions`: every approved version, newest first, as JSON text (the McpServerList shape); 404 when none. */
export function listMcpVersions(deps: Deps, name: string, origin: string): Promise<string> {
  // One snapshot, as a page of servers (listMcpServers).
  return deps.db.snapshot(async () => {
    const versions = await approved(deps, name);
    if (!versions.length) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
    const items = new Map<number, Item>();
    await readItems(deps, versions.map((v, i) => ({ id: v.id, latest: i === 0 })), origin, items);
    const out: string[] = [];
    for (const [i, v] of versions.entries()) out.push((await itemOf(deps, name, v, i === 0, origin, items)).text);
    return pageText(out);
  });
}

/** `GET /v0.1/servers/{serverName}/versions/{version}` (or `latest`): one approved version; 404 otherwise. */
export async function getMcpVersion(deps: Deps, name: string, version: string, origin: string): Promise<McpServerResponse> {
  // Two reads without a snapshot (this is a hot read, and on PostgreSQL a snapshot costs two
  // round trips): a version revoked between them is not served; the list is read again, and no
  // longer holds it (a revocation is final, so each round drops one version at least).
  for (;;) {
    const item = await chosen(deps, name, await approved(deps, name), version, origin);
    if (item) return item;
  }
}

/**
 * An authenticated v0.1 GET version with fewer reads: `lookup` is the token lookup for
 * `authenticate`, which reads the server's approved versions in the same statement as the token
 * (on SQLite); `response()` then answers {@link getMcpVersion} from that read, or reads now when
 * no token was looked up (an anonymous read).
 */
export function mcpVersionWithToken(
  deps: Deps,
  name: string,
  version: string,
  origin: string,
): { lookup: (secretHash: string) => Promise<TokenAuthRow | undefined>; response: () => Promise<McpServerResponse> } {
  let read: Array<{ id: number; version: string }> | undefined;
  return {
    lookup: async (secretHash) => {
      const both = await readTokenAndApproved(deps.db, secretHash, name);
      read = both.approved;
      return both.token;
    },
    // A version revoked since the token's statement read the list: read again (getMcpVersion).
    response: async () => (read && (await chosen(deps, name, newestFirst(read), version, origin))) || getMcpVersion(deps, name, version, origin),
  };
}

/** The chosen version's answer, or undefined when its row no longer says approved (revoked after `versions` was read). */
async function chosen(deps: Deps, name: string, versions: Array<{ id: number; version: string }>, version: string, origin: string): Promise<McpServerResponse | undefined> {
  const row = version === 'latest' ? versions[0] : versions.find((v) => v.version === version);
  if (!row) throw new ServiceError('NOT_FOUND', `no approved version ${name}@${version}`);
  return answer(deps, name, row, row === versions[0], origin);
}
