import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, auditTip, type Db, GENESIS_HASH, insertApproval, insertServer, insertVersion, openDatabase, openPostgres, readStatusSnapshot, setVersionStatus } from './index.js';

// The one read a signed status is made of, over SQLite and a real PostgreSQL server alike.
const dir = mkdtempSync(join(tmpdir(), 'sigil-status-reads-'));
let pgdb: TestDatabase;
const open: Array<{ close(): unknown }> = [];
const dbs: Record<'sqlite' | 'postgres', Db> = {} as Record<'sqlite' | 'postgres', Db>;
beforeAll(async () => {
  const sqlite = openDatabase(join(dir, 'registry.db'));
  pgdb = await createTestDatabase('sigil_status_reads');
  const pg = await openPostgres(pgdb.url);
  open.push(sqlite, pg);
  dbs.sqlite = sqlite.db;
  dbs.postgres = pg.db;
}, 60_000);
afterAll(async () => {
  for (const o of open) await o.close();
  await pgdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const at = '2026-11-30T00:00:00.000Z';
const SERVER = 'io.github.acme/weather';
async function publish(db: Db, version: string) {
  await insertServer(db, { name: SERVER, namespace: 'io.github.acme', owner: 'acme', createdAt: at });
  return insertVersion(db, {
    server: SERVER, version, digest: `sha256:${version.replaceAll('.', '').padEnd(64, 'a')}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{"tools":[{"name":"t"}]}', bundle: '{}',
    signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
  });
}

describe.each(['sqlite', 'postgres'] as const)('readStatusSnapshot on %s', (dialect) => {
  it('reads an empty chain as the genesis head, and unknown versions as undefined', async () => {
    const snap = await readStatusSnapshot(dbs[dialect], [[SERVER, '1.0.0']]);
    expect(snap.audit).toEqual({ seq: 0, hash: GENESIS_HASH });
    expect(snap.versions.get(SERVER)?.get('1.0.0')).toBeUndefined();
    expect(snap.approved.get(SERVER)).toEqual([]);
  });

  it('reads each version asked, its approvals in order, its server’s approved versions and the audit head', async () => {
    const db = dbs[dialect];
    const approved = await publish(db, '1.0.0');
    const revoked = await publish(db, '1.1.0');
    await publish(db, '1.2.0');
    for (const [v, reviewers] of [[approved, ['alice', 'bob']], [revoked, ['alice']]] as const) {
      for (const reviewer of reviewers) {
        const digest = `sha256:${reviewer[0]!.repeat(32)}${String(v.id).padStart(32, '0')}`;
        await db.transaction(async (tx) => {
          await appendAudit(tx, { actor: reviewer, action: 'version.approve', subject: `${SERVER}@${v.version}`, details: { approval: digest } });
          await insertApproval(tx, { versionId: v.id, reviewer, digest, bundle: '{}', signerFingerprint: `SHA256:${reviewer}`, createdAt: at });
        });
      }
      await db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'alice', action: 'version.approved', subject: `${SERVER}@${v.version}` });
        await setVersionStatus(tx, v.id, { status: 'approved' });
      });
    }
    await db.transaction(async (tx) => {
      await appendAudit(tx, { actor: 'alice', action: 'version.revoke', subject: `${SERVER}@1.1.0` });
      await setVersionStatus(tx, revoked.id, { status: 'revoked', revocationReason: 'bad', revokedBy: 'alice', revokedAt: at });
    });
    const snap = await readStatusSnapshot(db, [[SERVER, '1.0.0'], [SERVER, '1.1.0'], [SERVER, '1.2.0'], [SERVER, '1.0.0'], ['io.github.acme/none', '1.0.0']]);
    expect(snap.versions.get(SERVER)?.get('1.0.0')).toEqual({ id: approved.id, status: 'approved', digest: approved.digest, risk: 'low', revokedAt: null, revocationReason: null, approvals: [`sha256:${'a'.repeat(32)}${String(approved.id).padStart(32, '0')}`, `sha256:${'b'.repeat(32)}${String(approved.id).padStart(32, '0')}`] });
    expect(snap.versions.get(SERVER)?.get('1.1.0')).toMatchObject({ status: 'revoked', revokedAt: at, revocationReason: 'bad', approvals: [expect.stringMatching(/^sha256:a{32}/)] });
    expect(snap.versions.get(SERVER)?.get('1.2.0')).toMatchObject({ status: 'pending', approvals: [] });
    expect(snap.versions.get('io.github.acme/none')?.get('1.0.0')).toBeUndefined();
    expect(snap.approved.get(SERVER)).toEqual(['1.0.0']);
    expect(snap.approved.get('io.github.acme/none')).toEqual([]);
    expect(snap.audit).toEqual(await auditTip(db));
    expect(snap.audit.seq).toBeGreaterThan(0);
    // A long question (read on the pool on PostgreSQL, not a pipelined connection) reads the same.
    const long = await readStatusSnapshot(db, Array.from({ length: 40 }, (_, i) => [SERVER, ['1.0.0', '1.1.0', '1.2.0'][i % 3]!] as const));
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) expect(long.versions.get(SERVER)?.get(v)).toEqual(snap.versions.get(SERVER)?.get(v));
    expect(long.approved.get(SERVER)).toEqual(['1.0.0']);
    expect(long.audit).toEqual(snap.audit);
  });
});
