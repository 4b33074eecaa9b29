import { readApprovals, readApprovedVersions, readVersionById, searchServers, type VersionRecordRow } from '@sigil/db';
import { compareVersions, type McpServerList, type McpServerResponse } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';

/** The `_meta` key under which Sigil's own facts about a version travel in the v0.1 API. */
export const SIGIL_META_KEY = 'dev.sigil.registry/verification';
const OFFICIAL_META_KEY = 'io.modelcontextprotocol.registry/official';

/**
 * Only approved versions are served: pending, rejected and revoked ones (revocation is a status
 * of its own) never appear, so a host reading this API sees exactly what the organisation allows.
 */
async function approved(deps: Deps, name: string): Promise<Array<{ id: number; version: string }>> {
  return (await readApprovedVersions(deps.db, name)).sort((a, b) => compareVersions(b.version, a.version));
}

/** One approved version's answer: only the rows served are read in full. */
async function answer(deps: Deps, name: string, v: { id: number }, latest: boolean, origin: string): Promise<McpServerResponse> {
  const row = await readVersionById(deps.db, v.id);
  if (!row) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
  return response(deps, row, latest, origin);
}

async function response(deps: Deps, row: VersionRecordRow, latest: boolean, origin: string): Promise<McpServerResponse> {
  const { tools: _tools, instructions: _instructions, ...server } = JSON.parse(row.manifest) as Record<string, unknown>;
  const approvals = await readApprovals(deps.db, row.id);
  const updatedAt = approvals.map((a) => a.createdAt).sort().at(-1) ?? row.publishedAt;
  const record = `${origin}/v1/servers/${row.server}/versions/${encodeURIComponent(row.version)}`;
  return {
    server: server as McpServerResponse['server'],
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
        bundles: { manifest: `${record}#/bundle`, approvals: `${record}#/approvals`, ...(row.provenance ? { provenance: `${record}#/provenance` } : {}) },
        statusUrl: `${origin}/v1/status`,
      },
    },
  };
}

/** `GET /v0.1/servers`: servers by name with their approved versions (only the newest with `version=latest`). */
export async function listMcpServers(
  deps: Deps,
  q: { cursor?: string | undefined; limit: number; search?: string | undefined; updatedSince?: string | undefined; version?: string | undefined },
  origin: string,
): Promise<McpServerList> {
  const out: McpServerResponse[] = [];
  // The cursor is `<server name>\n<versions of it already served>`, so a page may end inside a server.
  const [resumeName, resumeSkip] = q.cursor ? Buffer.from(q.cursor, 'base64url').toString('utf8').split('\n') : [];
  let next: string | undefined;
  const take = async (name: string, skip: number): Promise<boolean> => {
    const versions = await approved(deps, name);
    const chosen = q.version === undefined ? versions : q.version === 'latest' ? versions.slice(0, 1) : versions.filter((v) => v.version === q.version);
    for (let i = skip; i < chosen.length; i++) {
      if (out.length >= q.limit) {
        next = Buffer.from(`${name}\n${i}`, 'utf8').toString('base64url');
        return false;
      }
      const item = await answer(deps, name, chosen[i]!, chosen[i] === versions[0], origin);
      const updated = (item._meta?.[OFFICIAL_META_KEY] as { updatedAt: string }).updatedAt;
      if (q.updatedSince === undefined || updated >= q.updatedSince) out.push(item);
    }
    return true;
  };
  let after = resumeName;
  if (resumeName !== undefined && !(await take(resumeName, Number(resumeSkip) || 0))) return { servers: out, metadata: { count: out.length, ...(next ? { nextCursor: next } : {}) } };
  // Servers without an approved version are skipped, so read pages of names until the page fills.
  for (let round = 0; round < 50 && next === undefined; round++) {
    const rows = await searchServers(deps.db, q.search, after, 100);
    for (const s of rows) {
      if (!(await take(s.name, 0))) break;
      after = s.name;
    }
    if (rows.length < 100) break;
  }
  return { servers: out, metadata: { count: out.length, ...(next ? { nextCursor: next } : {}) } };
}

/** `GET /v0.1/servers/{serverName}/versions`: every approved version, newest first; 404 when none. */
export async function listMcpVersions(deps: Deps, name: string, origin: string): Promise<McpServerList> {
  const versions = await approved(deps, name);
  if (!versions.length) throw new ServiceError('NOT_FOUND', `no approved version of ${name}`);
  const servers: McpServerResponse[] = [];
  for (const [i, v] of versions.entries()) servers.push(await answer(deps, name, v, i === 0, origin));
  return { servers, metadata: { count: servers.length } };
}

/** `GET /v0.1/servers/{serverName}/versions/{version}` (or `latest`): one approved version; 404 otherwise. */
export async function getMcpVersion(deps: Deps, name: string, version: string, origin: string): Promise<McpServerResponse> {
  const versions = await approved(deps, name);
  const row = version === 'latest' ? versions[0] : versions.find((v) => v.version === version);
  if (!row) throw new ServiceError('NOT_FOUND', `no approved version ${name}@${version}`);
  return answer(deps, name, row, row === versions[0], origin);
}
