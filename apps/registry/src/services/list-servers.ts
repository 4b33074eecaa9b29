import { readServerPage } from '@sigil/db';
import type { Deps } from '../deps.js';
import { cursorGiven, decodeCursor } from './cursor.js';

/** A page of servers by name, with their latest version and its status; `next` continues. */
export async function listServers(deps: Deps, search: string | undefined, cursor: string | undefined, limit: number) {
  const given = cursorGiven(cursor);
  const after = given === undefined ? undefined : decodeCursor(given, false).name;
  const rows = await readServerPage(deps.db, search, after, limit + 1);
  const page = rows.slice(0, limit);
  return {
    servers: page.map((s) => ({ name: s.name, latest: s.version !== null ? { version: s.version, status: s.status!, digest: s.digest! } : null })),
    next: rows.length > limit ? Buffer.from(page.at(-1)!.name, 'utf8').toString('base64url') : null,
  };
}

/**
 * {@link listServers}'s page as the JSON text served: on SQLite kept while no row changed since it
 * was read (Db.keptSnapshot, read-memo.ts), by every parameter it depends on.
 */
export function listServersText(deps: Deps, search: string | undefined, cursor: string | undefined, limit: number): Promise<string> {
  return deps.db.keptSnapshot(`v1 servers ${JSON.stringify([search ?? null, cursor ?? null, limit])}`, async () => JSON.stringify(await listServers(deps, search, cursor, limit)));
}
