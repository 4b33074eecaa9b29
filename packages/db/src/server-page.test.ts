import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendAudit,
  ensurePrincipal,
  insertApproval,
  insertServer,
  insertToken,
  insertVersion,
  openDatabase,
  openPostgres,
  readApprovalDigests,
  readApprovedPage,
  readApprovedVersions,
  readLatestVersion,
  readMcpRows,
  readServerPage,
  readTokenAndApproved,
  readTokenAndSummaries,
  readTokenAndVersion,
  readVersionById,
  readVersionSummaries,
  readVersionWithApprovalDigests,
  readVersionWithApprovals,
  revokeToken,
  searchServers,
  serverJsonOf,
  tokenBySecretHash,
  type Db,
} from './index.js';

// A page of servers with each one's newest version, in one statement: the same rows on SQLite
// (its prepared statement) and PostgreSQL (the query builder), and the same rows as the page of
// names (searchServers) with each server's newest version read on its own (readLatestVersion).
const dir = mkdtempSync(join(tmpdir(), 'sigil-page-'));
let pgdb: TestDatabase;
const closers: Array<() => unknown> = [];
const dbs: Array<[string, Db]> = [];
const at = '2026-11-30T00:00:00.000Z';
const NAMES = ['io.github.acme/a_b', 'io.github.acme/axb', 'io.github.acme/a-b', 'io.github.acme/ab', 'io.github.acme/empty', 'io.github.beta/x\\y', 'io.github.beta/weather'];

async function fill(db: Db) {
  for (const name of NAMES) {
    await insertServer(db, { name, namespace: name.split('/')[0]!, owner: 'acme', createdAt: at });
    if (name.endsWith('/empty')) continue;
    for (const [i, version] of ['1.0.0', '1.2.0', '1.1.0'].entries()) {
      const v = await insertVersion(db, {
        server: name, version, digest: `sha256:${String(i).repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: JSON.stringify({ description: 'd', instructions: 'i', name, tools: [], version }), bundle: '{}',
        signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: name.endsWith('b') && version !== '1.1.0' ? 'approved' : 'pending', risk: 'low', publishedAt: at,
        // A provenance on two approved versions, one of them an empty text (no provenance to serve).
        ...(name === 'io.github.acme/axb' && version !== '1.1.0' ? { provenance: version === '1.0.0' ? '{"kind":"slsa"}' : '' } : {}),
      });
      // Two approvals of each approved version of one server (each with its audit event), the
      // later one by the reviewer first by name: approvals are served by id, not by reviewer.
      if (name === 'io.github.acme/ab' && version !== '1.1.0')
        for (const reviewer of ['bob', 'alice']) {
          const approval = { versionId: v.id, reviewer, digest: `sha256:${reviewer[0]!.repeat(63)}${i}`, bundle: '{}', signerFingerprint: `SHA256:${reviewer}`, createdAt: at };
          await db.transaction(async (tx) => {
            await appendAudit(tx, { actor: reviewer, action: 'version.approve', subject: `${name}@${version}`, details: { approval: approval.digest } });
            await insertApproval(tx, approval);
          });
        }
    }
  }
  await ensurePrincipal(db, 'host', at);
  await insertToken(db, { id: 'tok-1', principal: 'host', secretHash: 'sha256:host', role: 'reader', namespaces: '["io.github.acme"]', createdAt: at, createdBy: 'admin', expiresAt: '2099-01-01T00:00:00.000Z' });
}

beforeAll(async () => {
  const sqlite = openDatabase(join(dir, 'registry.db'));
  closers.push(() => sqlite.close());
  pgdb = await createTestDatabase('sigil_page');
  const pg = await openPostgres(pgdb.url);
  closers.push(() => pg.close());
  dbs.push(['SQLite', sqlite.db], ['PostgreSQL', pg.db]);
  for (const [, db] of dbs) await fill(db);
}, 60_000);
afterAll(async () => {
  for (const close of closers) await close();
  await pgdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** What the page was made of before: the names, then each server's newest version on its own. */
async function oneByOne(db: Db, search: string | undefined, after: string | undefined, limit: number) {
  const out = [];
  for (const s of await searchServers(db, search, after, limit)) {
    const latest = await readLatestVersion(db, s.name);
    out.push({ name: s.name, version: latest?.version ?? null, status: latest?.status ?? null, digest: latest?.digest ?? null });
  }
  return out;
}

describe.each(['SQLite', 'PostgreSQL'])('a page of servers on %s', (label) => {
  const db = () => dbs.find(([l]) => l === label)![1];

  it('gives each server with its newest published version, or none', async () => {
    const page = await readServerPage(db(), undefined, undefined, 100);
    expect(page.map((r) => r.name)).toEqual([...NAMES].sort());
    expect(page.find((r) => r.name === 'io.github.acme/ab')).toEqual({ name: 'io.github.acme/ab', version: '1.1.0', status: 'pending', digest: `sha256:${'2'.repeat(64)}` });
    expect(page.find((r) => r.name === 'io.github.acme/a_b')?.status).toBe('pending');
    const approved = await readApprovedPage(db(), undefined, undefined, 100);
    expect(approved.filter((r) => r.name === 'io.github.acme/ab').map((r) => r.version)).toEqual(['1.0.0', '1.2.0']);
    expect(approved.filter((r) => r.name === 'io.github.beta/weather')).toEqual([{ name: 'io.github.beta/weather', id: null, version: null }]);
    expect(page.find((r) => r.name === 'io.github.acme/empty')).toEqual({ name: 'io.github.acme/empty', version: null, status: null, digest: null });
  });

  it.each([
    ['the first page', undefined, undefined, 3],
    ['a later page', undefined, 'io.github.acme/axb', 3],
    ['the last page', undefined, 'io.github.beta/weather', 3],
    ['a search with "_" (literal)', 'a_b', undefined, 10],
    ['a search with "%" (literal)', 'a%b', undefined, 10],
    ['a search with a backslash (literal)', 'x\\y', undefined, 10],
    ['a search, a later page', 'b', 'io.github.acme/ab', 2],
    // Three characters or more: on SQLite from the trigram index (migration 0008).
    ['a search of a name part', 'acme/a', undefined, 10],
    ['a search of a name part, a later page', 'acme/a', 'io.github.acme/a_b', 2],
    ['a search in other case (SQLite folds ASCII as LIKE does)', 'ACME/A', undefined, 10],
    ['a search whose every trigram some name holds, no name the whole', 'b/ab', undefined, 10],
    ['a search no name holds', 'nothing-here', undefined, 10],
    ['a search beyond ASCII', 'accmé/a\u{1F600}', undefined, 10],
    ['a search of a whole name', 'io.github.beta/weather', undefined, 10],
  ])('gives the rows one read per server gave: %s', async (_label, search, after, limit) => {
    expect(await readServerPage(db(), search, after, limit)).toEqual(await oneByOne(db(), search, after, limit));
  });

  it('reads versions as a v0.1 answer is made of (the stored server object text, whether there is a provenance, the approvals) by ids as one by one', async () => {
    const ids = (await readApprovedPage(db(), undefined, undefined, 100)).flatMap((r) => (r.id === null ? [] : [r.id]));
    expect(ids.length).toBeGreaterThan(3);
    const rows = await readMcpRows(db(), [...ids, 999_999]);
    const made = async (id: number) => {
      const { bundle: _bundle, provenance, manifest, rejectionReason: _1, rejectedBy: _2, rejectedAt: _3, revocationReason: _4, revokedBy: _5, revokedAt: _6, ...row } = (await readVersionById(db(), id))!;
      return { ...row, serverJson: serverJsonOf(manifest), hasProvenance: Boolean(provenance), approvals: await readApprovalDigests(db(), id) };
    };
    expect(rows.map((r) => ({ ...r, hasProvenance: Boolean(r.hasProvenance) })).sort((a, b) => a.id - b.id)).toEqual(await Promise.all([...ids].sort((a, b) => a - b).map(made)));
    expect(rows.filter((r) => r.hasProvenance).map((r) => `${String(r.server)}@${String(r.version)}`)).toEqual(['io.github.acme/axb@1.0.0']);
    // The manifest without its tools and instructions, as stored when the version was inserted.
    expect(rows.find((r) => r.server === 'io.github.acme/ab' && r.version === '1.2.0')!.serverJson).toBe('{"description":"d","name":"io.github.acme/ab","version":"1.2.0"}');
    expect(rows.filter((r) => r.server === 'io.github.acme/ab').map((r) => r.approvals.length)).toEqual([2, 2]);
    expect(await readMcpRows(db(), [])).toEqual([]);
  });

  it.each([
    ['the first page', undefined, undefined, 3],
    ['a later page', undefined, 'io.github.acme/ab', 3],
    ['every server', undefined, undefined, 100],
    ['a search with "_" (literal)', 'a_b', undefined, 10],
    ['a search, a later page', 'b', 'io.github.acme/ab', 2],
    ['a search of a name part', 'acme/a', undefined, 10],
    ['a search in other case', 'ACME/A', 'io.github.acme/a-b', 2],
    ['a search no name holds', 'nothing-here', undefined, 10],
  ])('gives the approved versions of each server of a page (none for some): %s', async (_label, search, after, limit) => {
    const expected = [];
    for (const s of await searchServers(db(), search, after, limit)) {
      const approved = (await readApprovedVersions(db(), s.name)).map((v) => ({ name: s.name, id: v.id, version: v.version })).sort((a, b) => (a.version < b.version ? -1 : 1));
      expected.push(...(approved.length ? approved : [{ name: s.name, id: null, version: null }]));
    }
    expect(await readApprovedPage(db(), search, after, limit)).toEqual(expected);
  });

  it.each([
    ['a version with approvals', 'sha256:host', 'io.github.acme/ab', '1.2.0'],
    ['a version without approvals', 'sha256:host', 'io.github.acme/ab', '1.1.0'],
    ['an unknown version', 'sha256:host', 'io.github.acme/ab', '9.9.9'],
    ['an unknown token', 'sha256:nobody', 'io.github.acme/ab', '1.0.0'],
    ['neither', 'sha256:nobody', 'io.github.acme/zz', '1.0.0'],
  ])('reads a token and a version together as each on its own: %s', async (_label, hash, server, version) => {
    const token = await tokenBySecretHash(db(), hash);
    const both = await readTokenAndVersion(db(), hash, server, version);
    expect(both.token).toEqual(token && { id: token.id, principal: token.principal, role: token.role, namespaces: token.namespaces, expiresAt: token.expiresAt, revokedAt: token.revokedAt });
    expect(both.found).toEqual(await readVersionWithApprovals(db(), server, version));
  });

  it.each([
    ['a server with versions', 'sha256:host', 'io.github.acme/ab'],
    ['a server without versions', 'sha256:host', 'io.github.acme/empty'],
    ['an unknown server', 'sha256:host', 'io.github.acme/zz'],
    ['an unknown token', 'sha256:nobody', 'io.github.acme/ab'],
  ])('reads a token and a server\'s versions together as each on its own: %s', async (_label, hash, server) => {
    const token = await tokenBySecretHash(db(), hash);
    const both = await readTokenAndSummaries(db(), hash, server);
    expect(both.token).toEqual(token && { id: token.id, principal: token.principal, role: token.role, namespaces: token.namespaces, expiresAt: token.expiresAt, revokedAt: token.revokedAt });
    expect(both.summaries).toEqual(await readVersionSummaries(db(), server));
  });

  it.each([
    ['a server with approved versions', 'sha256:host', 'io.github.acme/ab'],
    ['a server with none approved', 'sha256:host', 'io.github.beta/weather'],
    ['an unknown server', 'sha256:host', 'io.github.acme/zz'],
    ['an unknown token', 'sha256:nobody', 'io.github.acme/ab'],
  ])('reads a token and a server\'s approved versions together as each on its own: %s', async (_label, hash, server) => {
    const token = await tokenBySecretHash(db(), hash);
    const both = await readTokenAndApproved(db(), hash, server);
    expect(both.token).toEqual(token && { id: token.id, principal: token.principal, role: token.role, namespaces: token.namespaces, expiresAt: token.expiresAt, revokedAt: token.revokedAt });
    const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
    expect(both.approved.sort(byId)).toEqual((await readApprovedVersions(db(), server)).sort(byId));
  });

  it('reads a version and its approval digests together as each on its own (oldest approval first)', async () => {
    const ids = (await readApprovedVersions(db(), 'io.github.acme/ab')).map((v) => v.id);
    // Those of acme/ab with two approvals each; those of acme/a_b with none.
    for (const id of [...ids, ...(await readApprovedVersions(db(), 'io.github.acme/a_b')).map((v) => v.id)]) {
      const both = await readVersionWithApprovalDigests(db(), id);
      expect(both).toEqual({ row: await readVersionById(db(), id), approvals: await readApprovalDigests(db(), id) });
    }
    expect(ids.length).toBe(2);
    expect((await readVersionWithApprovalDigests(db(), ids[0]!))!.approvals.length).toBe(2);
    expect(await readVersionWithApprovalDigests(db(), 999_999)).toBeUndefined();
  });

  it('reads a revoked token with its revocation', async () => {
    await revokeToken(db(), 'tok-1', at);
    expect((await readTokenAndVersion(db(), 'sha256:host', 'io.github.acme/ab', '1.0.0')).token?.revokedAt).toBe(at);
  });
});

describe('the trigram index of server names (SQLite)', () => {
  /** What the index should hold: each name's distinct trigrams (ASCII lowered), and how many names hold each. */
  const expected = (names: string[]) => {
    const rows: Array<{ trigram: string; name: string }> = [];
    for (const name of names) {
      const chars = Array.from(name.replace(/[A-Z]/g, (c) => c.toLowerCase()));
      const grams = new Set<string>();
      for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
      for (const trigram of grams) rows.push({ trigram, name });
    }
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.trigram, (counts.get(r.trigram) ?? 0) + 1);
    // By UTF-8 bytes, as SQLite's BINARY collation orders text.
    const byText = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return {
      rows: rows.sort((a, b) => byText(a.trigram, b.trigram) || byText(a.name, b.name)),
      counts: [...counts].map(([trigram, n]) => ({ trigram, n })).sort((a, b) => byText(a.trigram, b.trigram)),
    };
  };

  it('follows names written behind the registry (inserted, renamed, deleted), and was filled for names stored before it', async () => {
    const opened = openDatabase(join(dir, 'trigrams.db'));
    try {
      const { raw } = opened;
      const stored = async () => ({
        rows: await raw.all<{ trigram: string; name: string }>('SELECT trigram, name FROM server_trigrams ORDER BY trigram, name'),
        counts: await raw.all<{ trigram: string; n: number }>('SELECT trigram, n FROM server_trigram_counts ORDER BY trigram'),
      });
      const names = ['io.github.Acme/AbcAbc', 'io.github.acme/ab', 'io.github.acme/x\u00e9\u{1F600}y', 'io.github.acme/xyzxyz'];
      for (const name of names) await raw.run('INSERT INTO servers (name, namespace, owner, created_at) VALUES (?, ?, ?, ?)', [name, name.split('/')[0], 'acme', at]);
      expect(await stored()).toEqual(expected(names));
      await raw.run('UPDATE servers SET name = ? WHERE name = ?', ['io.github.acme/zzz', 'io.github.Acme/AbcAbc']);
      expect(await stored()).toEqual(expected([...names.slice(1), 'io.github.acme/zzz']));
      await raw.run('DELETE FROM servers WHERE name IN (?, ?)', ['io.github.acme/zzz', 'io.github.acme/xyzxyz']);
      expect(await stored()).toEqual(expected(names.slice(1, 3)));
      expect((await readServerPage(opened.db, 'ACME/X\u00e9', undefined, 10)).map((r) => r.name)).toEqual(['io.github.acme/x\u00e9\u{1F600}y']);
      // The migration's own filling of the index, run again over what is stored, gives the same rows.
      await raw.run('DELETE FROM server_trigrams');
      await raw.run('DELETE FROM server_trigram_counts');
      const migration = readFileSync(fileURLToPath(new URL('../../../migrations/0008_server_search.sql', import.meta.url)), 'utf8').split('--> statement-breakpoint');
      for (const statement of migration.slice(-2)) await raw.run(statement);
      expect(await stored()).toEqual(expected(names.slice(1, 3)));
    } finally {
      opened.close();
    }
  });
});

describe('a search, whatever its ASCII case, on SQLite and PostgreSQL alike', () => {
  const MIXED = ['io.github.ChromeDevTools/chrome-devtools-mcp', 'io.github.Zeta/Weather-Kit', 'io.github.zeta/b'];

  it('finds the same names on both (/v1 and /v0.1 pages, and the names alone)', async () => {
    for (const [, db] of dbs) for (const name of MIXED) await insertServer(db, { name, namespace: name.split('/')[0]!, owner: 'zeta', createdAt: at });
    const found: Record<string, Record<string, string[]>> = {};
    for (const [label, db] of dbs) {
      const out: Record<string, string[]> = {};
      for (const search of ['devtools', 'DEVTOOLS', 'ChromeDevTools/Chrome', 'Ch', 'zeta/', 'ZETA/W', 'weather-KIT', 'É', 'chromédevtools', 'A_B']) {
        out[`${search} /v1`] = (await readServerPage(db, search, undefined, 100)).map((r) => r.name);
        out[`${search} /v0.1`] = [...new Set((await readApprovedPage(db, search, undefined, 100)).map((r) => r.name))];
        out[`${search} names`] = (await searchServers(db, search, undefined, 100)).map((r) => r.name);
      }
      found[label] = out;
    }
    expect(found.PostgreSQL).toEqual(found.SQLite);
    expect(found.SQLite!['DEVTOOLS /v1']).toEqual(['io.github.ChromeDevTools/chrome-devtools-mcp']);
    expect(found.SQLite!['ZETA/W /v0.1']).toEqual(['io.github.Zeta/Weather-Kit']);
    expect(found.SQLite!['zeta/ names']).toEqual(['io.github.Zeta/Weather-Kit', 'io.github.zeta/b']);
    // Only A-Z fold: a letter beyond ASCII matches itself alone, and no name holds one.
    expect(found.SQLite!['É /v1']).toEqual([]);
    expect(found.SQLite!['chromédevtools /v1']).toEqual([]);
  });
});
