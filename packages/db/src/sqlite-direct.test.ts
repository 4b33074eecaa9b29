import { asc, desc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { freshDatabases } from './fresh-database.fixture.js';
import { query } from './database.js';
import { allowlistSigners, auditEvents, logCheckpoints, logEntries, logNodes, servers, versions, versionTools } from './schema.js';
import {
  appendAudit,
  appendLogEntries,
  approvedToolOwners,
  checkpointCovering,
  countPending,
  insertCheckpoint,
  insertServer,
  insertVersion,
  isTombstoned,
  listAllowlist,
  logEntriesFor,
  logSize,
  serverByName,
  setVersionStatus,
  upsertAllowlist,
  verifyAuditChain,
} from './index.js';

const fresh = freshDatabases('sigil-direct-');
const at = '2026-11-24T00:00:00.000Z';

describe('the publish path in plain SQL on SQLite', () => {
  it('gives the rows and counts the query builder gives', async () => {
    const o = fresh();
    await insertServer(o.db, { name: 'io.github.acme/weather', namespace: 'io.github.acme', owner: 'acme', createdAt: at });
    await insertServer(o.db, { name: 'io.github.Other/tides', namespace: 'io.github.Other', owner: 'other', createdAt: at });
    const manifest = (tools: string[]) => JSON.stringify({ tools: tools.map((name) => ({ name })) });
    const inserted = await insertVersion(o.db, {
      server: 'io.github.acme/weather', version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: manifest(['forecast', 'alerts', 'forecast']), bundle: '{}',
      signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
    });
    // Every column, the defaults and nulls included, as the builder reads the row back.
    expect(inserted).toEqual((await query(o.db, (q) => q.select().from(versions).where(eq(versions.id, inserted.id))))[0]);
    expect(inserted.findings).toBe('[]');
    expect(inserted.provenance).toBeNull();
    expect((await query(o.db, (q) => q.select({ tool: versionTools.tool }).from(versionTools).orderBy(asc(versionTools.tool)))).map((r) => r.tool)).toEqual(['alerts', 'forecast']);
    const other = await insertVersion(o.db, {
      server: 'io.github.Other/tides', version: '2.0.0', digest: `sha256:${'c'.repeat(64)}`, toolsDigest: `sha256:${'d'.repeat(64)}`, manifest: manifest(['forecast', 'tide']), bundle: '{}',
      signerKind: 'key', signerFingerprint: 'SHA256:y', publisher: 'other', status: 'pending', risk: 'low', publishedAt: at,
    });

    expect(await serverByName(o.db, 'io.github.acme/weather')).toEqual((await query(o.db, (q) => q.select().from(servers).where(eq(servers.name, 'io.github.acme/weather'))))[0]);
    expect(await serverByName(o.db, 'io.github.acme/Weather')).toBeUndefined();
    expect(await isTombstoned(o.db, 'io.github.acme/weather', '1.0.0')).toBe(false);
    await o.raw.run('INSERT INTO tombstones (server, version, digest, deleted_at) VALUES (?, ?, ?, ?)', ['io.github.acme/weather', '0.9.0', `sha256:${'e'.repeat(64)}`, at]);
    expect(await isTombstoned(o.db, 'io.github.acme/weather', '0.9.0')).toBe(true);
    // The namespace whatever its case, pending only.
    expect(await countPending(o.db, 'io.github.acme')).toBe(1);
    expect(await countPending(o.db, 'io.github.other')).toBe(1);
    expect(await countPending(o.db, 'io.github.ac')).toBe(0);
    // Approved servers other than the one asked, with the shared names only.
    expect(await approvedToolOwners(o.db, ['forecast', 'alerts'], 'io.github.acme/weather')).toEqual([]);
    await o.db.transaction(async (tx) => {
      await appendAudit(tx, { actor: 'alice', action: 'version.approved', subject: 'io.github.Other/tides@2.0.0' });
      await setVersionStatus(tx, other.id, { status: 'approved' });
    });
    expect(await approvedToolOwners(o.db, ['forecast', 'alerts', 'tide'], 'io.github.acme/weather')).toEqual([{ server: 'io.github.Other/tides', tools: ['forecast', 'tide'] }]);
    expect(await approvedToolOwners(o.db, ['forecast'], 'io.github.Other/tides')).toEqual([]);
    expect(await countPending(o.db, 'io.github.other')).toBe(0);

    await upsertAllowlist(o.db, 'io.github.acme', [{ kind: 'key', value: 'PEM', fingerprint: 'SHA256:x', ca: null }], at);
    const [entry] = await listAllowlist(o.db);
    expect(entry!.signers).toEqual(await query(o.db, (q) => q.select().from(allowlistSigners)));
  });

  it('counts a namespace\'s pending versions from one range of versions_status_server_idx, neighbours excluded', async () => {
    const o = fresh();
    // Names that sort beside io.github.acme/…: '-' and '.' before '/', '0' right after it, a longer namespace.
    const names = ['io.github.acme/a', 'io.github.ACME/b', 'io.github.acme-x/c', 'io.github.acme.sub/d', 'io.github.acme0/e', 'io.github.acmez/f', 'io.github.acm/g'];
    for (const name of names) {
      await insertServer(o.db, { name, namespace: name.split('/')[0]!, owner: 'acme', createdAt: at });
      for (const [version, status] of [['1.0.0', 'pending'], ['1.1.0', 'approved']] as const)
        await insertVersion(o.db, { server: name, version, digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{}', bundle: '{}', signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status, risk: 'low', publishedAt: at });
    }
    expect(await countPending(o.db, 'io.github.acme')).toBe(2);
    expect(await countPending(o.db, 'IO.GITHUB.ACME')).toBe(2);
    expect(await countPending(o.db, 'io.github.acme-x')).toBe(1);
    expect(await countPending(o.db, 'io.github.acme0')).toBe(1);
    expect(await countPending(o.db, 'io.github.acm')).toBe(1);
    expect(await countPending(o.db, 'io.github')).toBe(0);
    // An index range, not a row per pending version (the plan is the same with no statistics, as a new database has).
    const plan = o.sqlite.prepare("EXPLAIN QUERY PLAN SELECT count(*) AS n FROM versions WHERE status = 'pending' AND lower(server) >= ? AND lower(server) < ?").all('a/', 'a0') as Array<{ detail: string }>;
    expect(plan.map((r) => r.detail)).toEqual(['SEARCH versions USING COVERING INDEX versions_status_server_idx (status=? AND <expr>>? AND <expr><?)']);
  });

  it('chains audit events and appends log entries and nodes as before', async () => {
    const o = fresh();
    for (let i = 0; i < 3; i++) await o.db.transaction(async (tx) => void (await appendAudit(tx, { actor: 'alice', action: 'x', subject: `s${i}`, details: { i } })));
    expect((await query(o.db, (q) => q.select().from(auditEvents).orderBy(desc(auditEvents.seq))))[0]!.seq).toBe(3);
    expect((await verifyAuditChain(o.db)).ok).toBe(true);
    for (let i = 0; i < 5; i++) await o.db.transaction(async (tx) => void (await appendLogEntries(tx, [{ kind: 'k', subject: `s${i}`, form: 'dsse', body: Buffer.from(`entry ${i}`) }], at)));
    expect(await logSize(o.db)).toBe(5);
    const entries = await query(o.db, (q) => q.select().from(logEntries).orderBy(asc(logEntries.idx)));
    expect(entries.map((e) => [e.idx, e.subject, e.body.toString()])).toEqual([0, 1, 2, 3, 4].map((i) => [i, `s${i}`, `entry ${i}`]));
    // Complete subtrees of 5 leaves: 5 leaves, 2 pairs, 1 of four.
    const nodes = await query(o.db, (q) => q.select().from(logNodes));
    expect(nodes.map((n) => n.level).sort()).toEqual([0, 0, 0, 0, 0, 1, 1, 2]);
    expect(await logEntriesFor(o.db, 's3', 'k')).toEqual(entries.filter((e) => e.subject === 's3'));
    expect(await logEntriesFor(o.db, 's3', 'other')).toEqual([]);
    await insertCheckpoint(o.db, { size: 2, root: new Uint8Array(32), envelope: 'two', signedAt: at });
    await insertCheckpoint(o.db, { size: 5, root: new Uint8Array(32).fill(1), envelope: 'five', signedAt: at });
    const checkpoints = await query(o.db, (q) => q.select().from(logCheckpoints).orderBy(asc(logCheckpoints.size)));
    expect(await checkpointCovering(o.db, 1)).toEqual(checkpoints[0]);
    expect(await checkpointCovering(o.db, 3)).toEqual(checkpoints[1]);
    expect(await checkpointCovering(o.db, 6)).toBeUndefined();
  });
});
