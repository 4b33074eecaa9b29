import { readApprovedGroups, readApprovedVersions, readMcpRows, readTokenAndApproved, type McpVersionRow, type TokenAuthRow } from '@sigil/db';
import { newestVersion, sortNewestFirst, type McpServerResponse } from '@sigil/manifest';
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
  return sortNewestFirst(versions);
}

/**
 * One approved version's answer, read now (the row and its approval digests, together). Inside a
 * snapshot the row read is the approved one listed; outside one it may have been revoked since,
 * and then there is no answer (undefined) rather than a revoked version served as approved.
 */
async function answer(deps: Deps, name: string, v: { id: number }, latest: boolean, origin: string): Promise<McpServerResponse | undefined> {
  const [found] = await readMcpRows(deps.db, [v.id]);
  if (!found) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
  return response(found, latest, origin);
}

/** Within one snapshot a version listed as approved is read as approved: anything else is a bug here, never served. */
function listed<T>(item: T | undefined, name: string): T {
  if (item === undefined) throw new Error(`a version of ${name} listed as approved was read as not approved: the page's reads are not one snapshot`);
  return item;
}

/** When a version's answer last changed: its newest approval's time (as JavaScript sorts them), else its publishing time. */
function updatedAtOf(row: McpVersionRow): string {
  return row.approvals.map((a) => a.createdAt).sort().at(-1) ?? row.publishedAt;
}

/** A version's record URL: its GET /v1 version route at `origin`. */
function recordOf(row: McpVersionRow, origin: string): string {
  return `${origin}/v1/servers/${row.server}/versions/${encodeURIComponent(row.version)}`;
}

/**
 * An approved version's v0.1 answer as an object (GET version), or undefined when it is not
 * approved. The `server` object is the version's stored server_json parsed: {@link itemText}
 * splices the same text, and writes what JSON.stringify writes for this object (a test holds them together).
 */
function response(row: McpVersionRow, latest: boolean, origin: string): McpServerResponse | undefined {
  if (row.status !== 'approved') return undefined;
  const record = recordOf(row, origin);
  return {
    server: JSON.parse(row.serverJson) as McpServerResponse['server'],
    _meta: {
      [OFFICIAL_META_KEY]: { status: 'active', publishedAt: row.publishedAt, updatedAt: updatedAtOf(row), isLatest: latest },
      [SIGIL_META_KEY]: {
        status: 'approved',
        digest: row.digest,
        toolsDigest: row.toolsDigest,
        risk: row.risk,
        publisher: row.publisher,
        signer: { kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) },
        approvals: row.approvals.map((a) => a.digest),
        record,
        bundles: { manifest: `${record}#/bundle`, approvals: `${record}#/approvals`, ...(row.hasProvenance ? { provenance: `${record}#/provenance` } : {}) },
        statusUrl: `${origin}/v1/status`,
      },
    },
  };
}

/** A version's answer as JSON text, with its updatedAt (what `updated_since` compares); undefined when it is not approved. */
type Item = { text: string; updatedAt: string } | undefined;

const json = JSON.stringify;

/**
 * {@link response} as the JSON text JSON.stringify writes for it, made without the object: the
 * stored server_json spliced as it is (never parsed), every other value written by JSON.stringify
 * on its own, in the object's key order.
 */
function itemText(row: McpVersionRow, latest: boolean, origin: string, updatedAt: string): string {
  // The record URL as a JSON string without its closing quote: what follows it is plain ASCII.
  const record = json(recordOf(row, origin)).slice(0, -1);
  return (
    `{"server":${row.serverJson},"_meta":{"${OFFICIAL_META_KEY}":{"status":"active","publishedAt":${json(row.publishedAt)},"updatedAt":${json(updatedAt)},"isLatest":${latest}},` +
    `"${SIGIL_META_KEY}":{"status":"approved","digest":${json(row.digest)},"toolsDigest":${json(row.toolsDigest)},"risk":${json(row.risk)},"publisher":${json(row.publisher)},` +
    `"signer":{"kind":${json(row.signerKind)},"keyFingerprint":${json(row.signerFingerprint)}${row.signerIdentity ? `,"identity":${json(row.signerIdentity)}` : ''}},` +
    `"approvals":${json(row.approvals.map((a) => a.digest))},"record":${record}","bundles":{"manifest":${record}#/bundle","approvals":${record}#/approvals"` +
    `${row.hasProvenance ? `,"provenance":${record}#/provenance"` : ''}},"statusUrl":${json(`${origin}/v1/status`)}}}}`
  );
}

/**
 * The answers of these versions (within one snapshot, or a version revoked meanwhile is read as
 * not approved), from one statement (readMcpRows), each spliced as text ({@link itemText}).
 */
async function readItems(deps: Deps, wanted: ReadonlyArray<{ id: number; latest: boolean }>, origin: string, into: Map<number, Item>): Promise<void> {
  if (wanted.length === 0) return;
  const latest = new Map(wanted.map((w) => [w.id, w.latest]));
  for (const row of await readMcpRows(deps.db, [...latest.keys()])) {
    if (row.status !== 'approved') into.set(row.id, undefined);
    else {
      const updatedAt = updatedAtOf(row);
      into.set(row.id, { text: itemText(row, latest.get(row.id)!, origin, updatedAt), updatedAt });
    }
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

/**
 * Rounds of reads one page makes at most (bounding a request); a page cut short by them still
 * ends with a cursor. 12 rounds walk about 2,000 servers at limit=30 (31, 62, 124, then 200 a
 * round): better-sqlite3 reads synchronously, so the whole page holds the event loop, and every
 * other request waits on a page whose filter leaves most versions out (50 rounds, about 9,600
 * servers, held it 130 ms and more with 100,000 versions stored).
 */
const MAX_ROUNDS = 12;

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
  // The same page asked again while no row changed is answered as it was read (SQLite: Db.keptSnapshot).
  const key = `v0.1 servers ${JSON.stringify([origin, q.cursor ?? null, q.limit, q.search ?? null, q.updatedSince ?? null, q.version ?? null])}`;
  return deps.db.keptSnapshot(key, () => listPage(deps, q, origin));
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
  // The versions of a server the page serves, newest first, and its newest: with
  // `version=latest` only the newest, found in one pass (no sort), as with the others the first
  // of the sorted list (sortNewestFirst and newestVersion agree, ties included).
  type Listed = { id: number; version: string; stale?: true };
  const choose = (versions: Listed[]): { chosen: Listed[]; newest: Listed | undefined } => {
    if (q.version === undefined) {
      const sorted = sortNewestFirst(versions);
      return { chosen: sorted, newest: sorted[0] };
    }
    const newest = newestVersion(versions);
    return { chosen: q.version === 'latest' ? (newest ? [newest] : []) : versions.filter((v) => v.version === q.version), newest };
  };
  // The answers of the versions a round will serve, read together (one statement for the page
  // on SQLite, not one per version); a version not read ahead is read on its own.
  const items = new Map<number, Item>();
  const take = async (name: string, { chosen, newest }: ReturnType<typeof choose>, skip: number): Promise<boolean> => {
    for (let i = skip; i < chosen.length; i++) {
      if (out.length >= q.limit) {
        next = Buffer.from(`${name}\n${i}`, 'utf8').toString('base64url');
        return false;
      }
      // Certainly older than updated_since (readApprovedGroups): left out unread, as the test below would.
      if (chosen[i]!.stale) continue;
      const item = await itemOf(deps, name, chosen[i]!, chosen[i] === newest, origin, items);
      if (q.updatedSince === undefined || item.updatedAt >= q.updatedSince) out.push(item.text);
    }
    return true;
  };
  let after = resumeName;
  // How many of `after`'s chosen versions were walked (all of them, once it is passed).
  let walked = resume?.skip ?? 0;
  if (resumeName !== undefined && !(await take(resumeName, choose(await readApprovedVersions(deps.db, resumeName)), resume!.skip))) return pageText(out, next);
  // Servers without an approved version are skipped, so read pages of servers (each with its
  // approved versions, one statement a page) until the page fills: as many as the page could
  // use first, more each round after.
  let round = 0;
  for (; round < MAX_ROUNDS && next === undefined; round++) {
    const size = Math.min(200, (q.limit + 1) * 2 ** round);
    const groups = await readApprovedGroups(deps.db, q.search, after, size, q.updatedSince);
    const servers = groups.map((g) => ({ name: g.name, ...choose(g.versions) }));
    // As many as the page still has room for (fewer are served when updated_since drops some).
    const wanted = servers.flatMap(({ chosen, newest }) => chosen.filter((v) => !v.stale).map((v) => ({ id: v.id, latest: v === newest }))).slice(0, q.limit - out.length);
    await readItems(deps, wanted, origin, items);
    for (const server of servers) {
      if (!(await take(server.name, server, 0))) break;
      after = server.name;
      walked = server.chosen.length;
    }
    if (groups.length < size) break;
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
 * (on SQLite); `text()` then answers {@link getMcpVersion} from that read as JSON text, or reads
 * now when no token was looked up (an anonymous read).
 */
export function mcpVersionWithToken(
  deps: Deps,
  name: string,
  version: string,
  origin: string,
): { lookup: (secretHash: string) => Promise<TokenAuthRow | undefined>; text: () => Promise<string> } {
  let read: ReadonlyArray<{ id: number; version: string }> | undefined;
  return {
    lookup: async (secretHash) => {
      const both = await readTokenAndApproved(deps.db, secretHash, name);
      read = both.approved;
      return both.token;
    },
    // A version revoked since the token's statement read the list: read again (getMcpVersion).
    text: async () => (read && (await keptText(deps, name, read, version, origin))) ?? JSON.stringify(await getMcpVersion(deps, name, version, origin)),
  };
}

/** Most answers kept per read of a server's approved versions (one per version asked and origin). */
const TEXTS_PER_READ = 16;
/** The answer texts made from each read of a server's approved versions, per registry: see {@link keptText}. */
const mcpTexts = new WeakMap<Deps, WeakMap<object, Map<string, Promise<string | undefined>>>>();

/**
 * The v0.1 answer to `version` at `origin` as JSON text, made from `read` (the server's approved
 * versions) once per read object. On SQLite the same question gets the same read object while no
 * row changed since it was read (@sigil/db read-memo.ts), so the version's row, read after it,
 * is as it was then too; any change gives a new read object and a new answer. Undefined when the
 * version is no longer approved (the caller reads again).
 */
function keptText(deps: Deps, name: string, read: ReadonlyArray<{ id: number; version: string }>, version: string, origin: string): Promise<string | undefined> {
  let byRead = mcpTexts.get(deps);
  if (!byRead) mcpTexts.set(deps, (byRead = new WeakMap()));
  let texts = byRead.get(read);
  if (!texts) byRead.set(read, (texts = new Map()));
  const key = `${origin} ${version}`;
  let text = texts.get(key);
  if (!text) {
    // A copy sorted: the read is shared, never changed.
    text = chosen(deps, name, newestFirst([...read]), version, origin).then((r) => r && JSON.stringify(r));
    // Bounded per read (the origin follows the request's Host): past it, made per request.
    if (texts.size < TEXTS_PER_READ) {
      const kept = texts;
      kept.set(key, text);
      text.catch(() => kept.delete(key));
    }
  }
  return text;
}

/** The chosen version's answer, or undefined when its row no longer says approved (revoked after `versions` was read). */
async function chosen(deps: Deps, name: string, versions: Array<{ id: number; version: string }>, version: string, origin: string): Promise<McpServerResponse | undefined> {
  const row = version === 'latest' ? versions[0] : versions.find((v) => v.version === version);
  if (!row) throw new ServiceError('NOT_FOUND', `no approved version ${name}@${version}`);
  return answer(deps, name, row, row === versions[0], origin);
}
