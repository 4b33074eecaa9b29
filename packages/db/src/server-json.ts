import type Database from 'better-sqlite3';
import type pg from 'pg';

/**
 * The v0.1 API's `server` object of a version as the exact JSON text served: the stored manifest
 * without its tools and instructions, as JSON.stringify writes JSON.parse of the stored text
 * (keys in the stored order, but for keys that are array indices, which JavaScript puts first).
 * Stored per version (versions.server_json) when the version is inserted, so the listings
 * splice it instead of parsing every manifest they serve.
 * @example serverJsonOf('{"name":"io.github.acme/weather","tools":[],"version":"1.0.0"}') // '{"name":"io.github.acme/weather","version":"1.0.0"}'
 */
export function serverJsonOf(manifest: unknown): string {
  return serverJsonFrom(JSON.parse(manifest as string) as Record<string, unknown>);
}

/** {@link serverJsonOf} of a manifest already parsed. */
export function serverJsonFrom(parsed: Record<string, unknown>): string {
  const { tools: _tools, instructions: _instructions, ...server } = parsed;
  return JSON.stringify(server);
}

/** Rows filled per transaction by the fills below (a short write each, whatever the table's size). */
const FILL_BATCH = 1000;

/**
 * Fills server_json of the rows stored before migration 0009 (null there): run once the database
 * is migrated, before the registry answers, in batches; idempotent (only null ones are written,
 * and migration 0009's trigger allows no other change). A row whose manifest is not JSON is left
 * null (a read then makes its text from the manifest, and fails as it did before).
 */
export function fillServerJsonSqlite(sqlite: Database.Database): number {
  // Opened with an older migrations folder (an upgrade test's previous version): nothing to fill.
  if (sqlite.prepare("SELECT 1 FROM pragma_table_info('versions') WHERE name = 'server_json'").get() === undefined) return 0;
  const next = sqlite.prepare('SELECT id, manifest FROM versions WHERE server_json IS NULL AND id > ? ORDER BY id LIMIT ?').raw(true);
  const set = sqlite.prepare('UPDATE versions SET server_json = ? WHERE id = ? AND server_json IS NULL');
  let after = 0;
  let filled = 0;
  for (;;) {
    const rows = next.all(after, FILL_BATCH) as Array<[number, unknown]>;
    if (rows.length === 0) return filled;
    sqlite.transaction(() => {
      for (const [id, manifest] of rows) {
        const text = madeOrUndefined(manifest);
        if (text !== undefined) filled += set.run(text, id).changes;
      }
    })();
    after = rows.at(-1)![0];
  }
}

/** {@link fillServerJsonSqlite} on PostgreSQL, over a connection holding the migration lock (one instance fills). */
export async function fillServerJsonPg(client: pg.PoolClient): Promise<number> {
  const column = await client.query("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'versions' AND column_name = 'server_json'");
  if (column.rowCount === 0) return 0;
  let after = 0;
  let filled = 0;
  for (;;) {
    const rows = (await client.query<{ id: number; manifest: unknown }>('SELECT id, manifest FROM versions WHERE server_json IS NULL AND id > $1 ORDER BY id LIMIT $2', [after, FILL_BATCH])).rows;
    if (rows.length === 0) return filled;
    const ids: number[] = [];
    const texts: string[] = [];
    for (const r of rows) {
      const text = madeOrUndefined(r.manifest);
      if (text === undefined) continue;
      ids.push(Number(r.id));
      texts.push(text);
    }
    if (ids.length) {
      const done = await client.query('UPDATE versions v SET server_json = f.text FROM unnest($1::bigint[], $2::text[]) AS f(id, text) WHERE v.id = f.id AND v.server_json IS NULL', [ids, texts]);
      filled += done.rowCount ?? 0;
    }
    after = Number(rows.at(-1)!.id);
  }
}

function madeOrUndefined(manifest: unknown): string | undefined {
  try {
    return serverJsonOf(manifest);
  } catch {
    return undefined;
  }
}
