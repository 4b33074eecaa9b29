import { describe, expect, it } from 'vitest';
import { desc, eq } from 'drizzle-orm';
import { freshDatabases } from './fresh-database.fixture.js';
import { numberedPlaceholders, query } from './database.js';
import { auditEvents, tokens } from './schema.js';
import { appendAudit, openDatabase, serverJsonOf, approvalsOf, ensurePrincipal, insertToken, tokenBySecretHash, auditTip, insertApproval, insertServer, insertVersion, readApprovals, readApprovedVersions, readLatestVersion, readVersion, readVersionById, readVersionSummaries, serverByFoldedName, serverExists, setVersionStatus, verifyAuditChain, versionOf, versionsOf, type OpenDatabase } from './index.js';

const fresh = freshDatabases('sigil-db-');
const at = '2026-11-24T00:00:00.000Z';
async function publish(o: OpenDatabase, version = '1.0.0') {
  await insertServer(o.db, { name: 'io.github.acme/weather', namespace: 'io.github.acme', owner: 'acme', createdAt: at });
  return insertVersion(o.db, {
    server: 'io.github.acme/weather', version, digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{}', bundle: '{}',
    signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
  });
}

describe('the database', () => {
  it('answers the hot reads with the rows the query builder gives, without findings', async () => {
    const o = fresh();
    const v = await publish(o);
    await publish(o, '1.1.0');
    await appendAudit(o.db, { actor: 'alice', action: 'version.approve', subject: 'io.github.acme/weather@1.0.0', details: { approval: `sha256:${'c'.repeat(64)}` } });
    await insertApproval(o.db, { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{"b":1}', signerFingerprint: 'SHA256:y', createdAt: at });
    const { findings: _f, serverJson: _s, ...row } = (await versionOf(o.db, 'io.github.acme/weather', '1.0.0'))!;
    expect(await readVersion(o.db, 'io.github.acme/weather', '1.0.0')).toEqual(row);
    expect(await readVersionById(o.db, v.id)).toEqual(row);
    expect(await readVersion(o.db, 'io.github.acme/weather', '9.0.0')).toBeUndefined();
    expect(await readApprovals(o.db, v.id)).toEqual((await approvalsOf(o.db, v.id)).map((a) => ({ digest: a.digest, reviewer: a.reviewer, bundle: a.bundle, createdAt: a.createdAt })));
    expect(await readVersionSummaries(o.db, 'io.github.acme/weather')).toEqual((await versionsOf(o.db, 'io.github.acme/weather')).map((r) => ({ id: r.id, version: r.version, digest: r.digest, status: r.status, risk: r.risk, publishedAt: r.publishedAt })));
    expect(await readLatestVersion(o.db, 'io.github.acme/weather')).toEqual({ version: '1.1.0', status: 'pending', digest: `sha256:${'a'.repeat(64)}` });
    expect(await serverExists(o.db, 'io.github.acme/weather')).toBe(true);
    expect(await serverExists(o.db, 'io.github.acme/Weather')).toBe(false);
    expect(await readApprovedVersions(o.db, 'io.github.acme/weather')).toEqual([]);
    await ensurePrincipal(o.db, 'acme', at);
    await insertToken(o.db, { id: 't1', principal: 'acme', secretHash: 'sha256:x', role: 'reader', createdAt: at, expiresAt: at });
    const viaBuilder = (await query(o.db, (q) => q.select().from(tokens).where(eq(tokens.secretHash, 'sha256:x'))))[0];
    expect(viaBuilder).toMatchObject({ id: 't1', namespaces: '[]', createdBy: null, revokedAt: null });
    expect(await tokenBySecretHash(o.db, 'sha256:x')).toEqual(viaBuilder);
    expect(await auditTip(o.db)).toEqual((await query(o.db, (q) => q.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1)))[0]);
    expect((await auditTip(o.db)).seq).toBeGreaterThan(0);
  });

  it('opens with WAL and foreign keys, migrations applied', async () => {
    const o = fresh();
    expect(o.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(o.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() => o.sqlite.prepare("insert into versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, published_at) values ('nope/x','1.0.0','d','t','{}','{}','key','f','p','pending','low','x')").run()).toThrow(/FOREIGN KEY/);
  });

  describe('when something tries to change a published version', () => {
    it('refuses changes of content at the database level', async () => {
      const o = fresh();
      const v = await publish(o);
      for (const column of ['manifest', 'digest', 'bundle', 'tools_digest', 'version', 'server_json']) {
        expect(() => o.sqlite.prepare(`update versions set ${column} = 'x' where id = ?`).run(v.id)).toThrow(/VERSION_IMMUTABLE/);
      }
      await appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      await setVersionStatus(o.db, v.id, { status: 'approved' });
      expect((await versionOf(o.db, 'io.github.acme/weather', '1.0.0'))?.status).toBe('approved');
    });

    it('stores the v0.1 server object text with the version, and fills it once for rows stored before migration 0009 when it opens', async () => {
      const o = fresh();
      await insertServer(o.db, { name: 'io.github.acme/weather', namespace: 'io.github.acme', owner: 'acme', createdAt: at });
      const manifest = '{"description":"caf\\u00e9 \\"w\\"","instructions":"i","name":"io.github.acme/weather","tools":[{"name":"t"}],"version":"1.0.0"}';
      const v = await insertVersion(o.db, {
        server: 'io.github.acme/weather', version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest, bundle: '{}',
        signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
      });
      const stored = () => o.sqlite.prepare('select server_json from versions where id = ?').pluck().get(v.id);
      expect(stored()).toBe('{"description":"café \\"w\\"","name":"io.github.acme/weather","version":"1.0.0"}');
      expect(stored()).toBe(serverJsonOf(manifest));
      // As a row stored before migration 0009 (the trigger out of the way for this), and one whose manifest is not JSON.
      const trigger = o.sqlite.prepare("select sql from sqlite_master where name = 'versions_server_json_immutable'").pluck().get() as string;
      o.sqlite.exec('drop trigger versions_server_json_immutable');
      o.sqlite.prepare('update versions set server_json = null where id = ?').run(v.id);
      o.sqlite.exec(trigger);
      o.sqlite.prepare("insert into versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, published_at) values ('io.github.acme/weather','1.0.1','d','t','not json','{}','key','f','p','pending','low','x')").run();
      const path = o.sqlite.name;
      o.close();
      const again = openDatabase(path);
      try {
        const rows = again.sqlite.prepare('select version, server_json from versions order by id').raw().all();
        expect(rows).toEqual([['1.0.0', serverJsonOf(manifest)], ['1.0.1', null]]);
        // Filled once: changed no more.
        expect(() => again.sqlite.prepare("update versions set server_json = '{}' where version = '1.0.0'").run()).toThrow(/VERSION_IMMUTABLE/);
      } finally {
        again.close();
      }
    });

    it('keeps a rejection or revocation final', async () => {
      const o = fresh();
      const v = await publish(o);
      await appendAudit(o.db, { actor: 'sec', action: 'version.revoke', subject: 'io.github.acme/weather@1.0.0' });
      await setVersionStatus(o.db, v.id, { status: 'revoked', revocationReason: 'bad', revokedBy: 'sec', revokedAt: at });
      await appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      await expect(setVersionStatus(o.db, v.id, { status: 'approved' })).rejects.toThrow(/ALREADY_DECIDED/);
    });

    it('leaves a tombstone on delete, so name@version is never reused', async () => {
      const o = fresh();
      const v = await publish(o);
      o.sqlite.prepare('delete from versions where id = ?').run(v.id);
      await expect(publish(o)).rejects.toThrow(/VERSION_EXISTS/);
    });
  });

  describe('when two servers differ only in the case of their names', () => {
    it('keeps one of them: names are unique whatever their case, at the database level', async () => {
      const o = fresh();
      await publish(o);
      expect((await serverByFoldedName(o.db, 'IO.GitHub.Acme/Weather'))?.name).toBe('io.github.acme/weather');
      expect(await serverByFoldedName(o.db, 'io.github.acme/weather2')).toBeUndefined();
      expect(() => o.sqlite.prepare("insert into servers (name, namespace, owner, created_at) values ('io.github.acme/Weather', 'io.github.acme', 'mallory', ?)").run(at)).toThrow(/UNIQUE/);
      expect(o.sqlite.prepare('select count(*) as n from servers').get()).toEqual({ n: 1 });
    });
  });

  describe('when something changes a status or an approval behind the registry', () => {
    it('refuses a status change without its audit event', async () => {
      const o = fresh();
      const v = await publish(o);
      expect(() => o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id)).toThrow(/AUDIT_REQUIRED/);
      // An event about another version does not count either.
      await appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@9.9.9' });
      expect(() => o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id)).toThrow(/AUDIT_REQUIRED/);
      await appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id);
      expect((await versionOf(o.db, 'io.github.acme/weather', '1.0.0'))?.status).toBe('approved');
    });

    it('moves a status forward only', async () => {
      const o = fresh();
      const v = await publish(o);
      await appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      await setVersionStatus(o.db, v.id, { status: 'approved' });
      expect(() => o.sqlite.prepare("update versions set status = 'pending' where id = ?").run(v.id)).toThrow(/ALREADY_DECIDED|AUDIT_REQUIRED/);
      await appendAudit(o.db, { actor: 'sec', action: 'version.reject', subject: 'io.github.acme/weather@1.0.0' });
      expect(() => o.sqlite.prepare("update versions set status = 'rejected' where id = ?").run(v.id)).toThrow(/ALREADY_DECIDED/);
    });

    it('refuses an approval without its audit event, and never deletes one', async () => {
      const o = fresh();
      const v = await publish(o);
      const approval = { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{}', signerFingerprint: 'SHA256:a', createdAt: at };
      await expect(insertApproval(o.db, approval)).rejects.toThrow(/AUDIT_REQUIRED/);
      await appendAudit(o.db, { actor: 'alice', action: 'version.approve', subject: 'io.github.acme/weather@1.0.0', details: { approval: approval.digest } });
      await insertApproval(o.db, approval);
      expect(() => o.sqlite.prepare('delete from approvals').run()).toThrow(/APPROVAL_PERMANENT/);
    });
  });

  describe('the audit chain', () => {
    it('shows a removed tail against a head signed earlier', async () => {
      const o = fresh();
      for (let i = 0; i < 5; i++) await appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: `t${i}` });
      const signed = await auditTip(o.db);
      expect(signed.seq).toBe(5);
      expect(await verifyAuditChain(o.db, signed)).toMatchObject({ ok: true, events: 5 });
      o.sqlite.exec('drop trigger audit_events_no_delete');
      o.sqlite.prepare('delete from audit_events where seq >= 4').run();
      // The rest of the chain still verifies on its own: only the signed head gives it away.
      expect(await verifyAuditChain(o.db)).toMatchObject({ ok: true, events: 3 });
      expect(await verifyAuditChain(o.db, signed)).toMatchObject({ ok: false, brokenAt: 4 });
      await appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: 'x' });
      await appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: 'y' });
      expect(await verifyAuditChain(o.db, signed)).toMatchObject({ ok: false, brokenAt: 5 });
    });

    it('verifies from the first event and is append-only', async () => {
      const o = fresh();
      for (let i = 0; i < 5; i++) await appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: `t${i}`, details: { i } });
      expect(await verifyAuditChain(o.db)).toMatchObject({ ok: true, events: 5 });
      expect(() => o.sqlite.prepare("update audit_events set actor = 'x' where seq = 2").run()).toThrow(/AUDIT_APPEND_ONLY/);
      expect(() => o.sqlite.prepare('delete from audit_events where seq = 5').run()).toThrow(/AUDIT_APPEND_ONLY/);
    });

    it('fails the check when one stored event is edited directly', async () => {
      const o = fresh();
      for (let i = 0; i < 4; i++) await appendAudit(o.db, { actor: 'admin', action: 'allowlist.put', subject: `p${i}` });
      // An attacker with the file can drop the trigger; the chain still gives them away.
      o.sqlite.exec('drop trigger audit_events_no_update');
      o.sqlite.prepare("update audit_events set actor = 'mallory' where seq = 3").run();
      expect(await verifyAuditChain(o.db)).toMatchObject({ ok: false, brokenAt: 3 });
    });
  });
});

describe('raw statements', () => {
  it('number ? placeholders for PostgreSQL, but not inside quoted text or a comment', () => {
    expect(numberedPlaceholders(`select '?', "a?b", x -- why?\nfrom t where a = ? and b = ?`)).toBe(`select '?', "a?b", x -- why?\nfrom t where a = $1 and b = $2`);
  });

  it('run on SQLite after the open write transaction, never inside it', async () => {
    const o = fresh();
    let release!: () => void;
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const held = o.db.transaction(async (tx) => {
      await insertServer(tx, { name: 'io.github.acme/held', namespace: 'io.github.acme', owner: 'acme', createdAt: at });
      opened();
      await new Promise<void>((resolve) => (release = resolve));
    });
    // Once the transaction is open (it begins on the writer's next turn, with any others queued).
    await open;
    const read = o.raw.get<{ n: number }>('select count(*) as n from servers where name = ?', ['io.github.acme/held']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await held;
    expect(await read).toEqual({ n: 1 });
    expect(await o.raw.run('update servers set owner = ? where name = ?', ['someone', 'io.github.acme/held'])).toBe(1);
  });
});
