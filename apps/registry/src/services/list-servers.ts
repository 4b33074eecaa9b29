import { readLatestVersion, searchServers } from '@sigil/db';
import type { Deps } from '../deps.js';

/** A page of servers by name, with their latest version and its status; `next` continues. */
export async function listServers(deps: Deps, search: string | undefined, cursor: string | undefined, limit: number) {
  const after = cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined;
  const rows = await searchServers(deps.db, search, after, limit + 1);
  const page = rows.slice(0, limit);
  const servers = [];
  for (const s of page) {
    const latest = await readLatestVersion(deps.db, s.name);
    servers.push({ name: s.name, latest: latest ? { version: latest.version, status: latest.status, digest: latest.digest } : null });
  }
  return {
    servers,
    next: rows.length > limit ? Buffer.from(page.at(-1)!.name, 'utf8').toString('base64url') : null,
  };
}
