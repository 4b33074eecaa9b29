import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, approvalsOf, ensurePrincipal, insertToken, tokenBySecretHash, auditTip, insertApproval, insertServer, insertVersion, openDatabase, readApprovals, readApprovedVersions, readLatestVersion, readVersion, readVersionById, readVersionSummaries, serverByFoldedName, serverExists, setVersionStatus, verifyAuditChain, versionOf, versionsOf, type OpenDatabase } from './index.js';

const dirs: string[] = [];
const opened: OpenDatabase[] = [];
afterEach(() => {
  opened.splice(0).forEach((o) => o.close());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function fresh(): OpenDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-db-'));
  dirs.push(dir);
  const o = openDatabase(join(dir, 'registry.db'));
  opened.push(o);
  return o;
}
const at = '2026-11-24T00:00:00.000Z';
function publish(o: OpenDatabase, version = '1.0.0') {
  insertServer(o.db, { name: 'io.github.acme/weather', namespace: 'io.github.acme', owner: 'acme', createdAt: at });
  return insertVersion(o.db, {
    server: 'io.github.acme/weather', version, digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{}', bundle: '{}',
    signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
  });
}

describe('the database', () => {
  it('answers the hot reads with the rows the query builder gives, without findings', () => {
    const o = fresh();
    const v = publish(o);
    publish(o, '1.1.0');
    appendAudit(o.db, { actor: 'alice', action: 'version.approve', subject: 'io.github.acme/weather@1.0.0', details: { approval: `sha256:${'c'.repeat(64)}` } });
    insertApproval(o.db, { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{"b":1}', signerFingerprint: 'SHA256:y', createdAt: at });
    const { findings: _f, ...row } = versionOf(o.db, 'io.github.acme/weather', '1.0.0')!;
    expect(readVersion(o.db, 'io.github.acme/weather', '1.0.0')).toEqual(row);
    expect(readVersionById(o.db, v.id)).toEqual(row);
    expect(readVersion(o.db, 'io.github.acme/weather', '9.0.0')).toBeUndefined();
    expect(readApprovals(o.db, v.id)).toEqual(approvalsOf(o.db, v.id).map((a) => ({ digest: a.digest, reviewer: a.reviewer, bundle: a.bundle, createdAt: a.createdAt })));
    expect(readVersionSummaries(o.db, 'io.github.acme/weather')).toEqual(versionsOf(o.db, 'io.github.acme/weather').map((r) => ({ id: r.id, version: r.version, digest: r.digest, status: r.status, risk: r.risk, publishedAt: r.publishedAt })));
    expect(readLatestVersion(o.db, 'io.github.acme/weather')).toEqual({ version: '1.1.0', status: 'pending', digest: `sha256:${'a'.repeat(64)}` });
    expect(serverExists(o.db, 'io.github.acme/weather')).toBe(true);
    expect(serverExists(o.db, 'io.github.acme/Weather')).toBe(false);
    expect(readApprovedVersions(o.db, 'io.github.acme/weather')).toEqual([]);
    ensurePrincipal(o.db, 'acme', at);
    insertToken(o.db, { id: 't1', principal: 'acme', secretHash: 'sha256:x', role: 'reader', createdAt: at, expiresAt: at });
    const viaBuilder = o.db.transaction((tx) => tokenBySecretHash(tx, 'sha256:x'));
    expect(viaBuilder).toMatchObject({ id: 't1', namespaces: '[]', createdBy: null, revokedAt: null });
    expect(tokenBySecretHash(o.db, 'sha256:x')).toEqual(viaBuilder);
    expect(auditTip(o.db)).toEqual(o.db.transaction((tx) => auditTip(tx)));
    expect(auditTip(o.db).seq).toBeGreaterThan(0);
  });

  it('opens with WAL and foreign keys, migrations applied', () => {
    const o = fresh();
    expect(o.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(o.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() => o.sqlite.prepare("insert into versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, published_at) values ('nope/x','1.0.0','d','t','{}','{}','key','f','p','pending','low','x')").run()).toThrow(/FOREIGN KEY/);
  });

  describe('when something tries to change a published version', () => {
    it('refuses changes of content at the database level', () => {
      const o = fresh();
      const v = publish(o);
      for (const column of ['manifest', 'digest', 'bundle', 'tools_digest', 'version']) {
        expect(() => o.sqlite.prepare(`update versions set ${column} = 'x' where id = ?`).run(v.id)).toThrow(/VERSION_IMMUTABLE/);
      }
      appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      setVersionStatus(o.db, v.id, { status: 'approved' });
      expect(versionOf(o.db, 'io.github.acme/weather', '1.0.0')?.status).toBe('approved');
    });

    it('keeps a rejection or revocation final', () => {
      const o = fresh();
      const v = publish(o);
      appendAudit(o.db, { actor: 'sec', action: 'version.revoke', subject: 'io.github.acme/weather@1.0.0' });
      setVersionStatus(o.db, v.id, { status: 'revoked', revocationReason: 'bad', revokedBy: 'sec', revokedAt: at });
      appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      expect(() => setVersionStatus(o.db, v.id, { status: 'approved' })).toThrow(/ALREADY_DECIDED/);
    });

    it('leaves a tombstone on delete, so name@version is never reused', () => {
      const o = fresh();
      const v = publish(o);
      o.sqlite.prepare('delete from versions where id = ?').run(v.id);
      expect(() => publish(o)).toThrow(/VERSION_EXISTS/);
    });
  });

  describe('when two servers differ only in the case of their names', () => {
    it('keeps one of them: names are unique whatever their case, at the database level', () => {
      const o = fresh();
      publish(o);
      expect(serverByFoldedName(o.db, 'IO.GitHub.Acme/Weather')?.name).toBe('io.github.acme/weather');
      expect(serverByFoldedName(o.db, 'io.github.acme/weather2')).toBeUndefined();
      expect(() => o.sqlite.prepare("insert into servers (name, namespace, owner, created_at) values ('io.github.acme/Weather', 'io.github.acme', 'mallory', ?)").run(at)).toThrow(/UNIQUE/);
      expect(o.sqlite.prepare('select count(*) as n from servers').get()).toEqual({ n: 1 });
    });
  });

  describe('when something changes a status or an approval behind the registry', () => {
    it('refuses a status change without its audit event', () => {
      const o = fresh();
      const v = publish(o);
      expect(() => o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id)).toThrow(/AUDIT_REQUIRED/);
      // An event about another version does not count either.
      appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@9.9.9' });
      expect(() => o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id)).toThrow(/AUDIT_REQUIRED/);
      appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      o.sqlite.prepare("update versions set status = 'approved' where id = ?").run(v.id);
      expect(versionOf(o.db, 'io.github.acme/weather', '1.0.0')?.status).toBe('approved');
    });

    it('moves a status forward only', () => {
      const o = fresh();
      const v = publish(o);
      appendAudit(o.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
      setVersionStatus(o.db, v.id, { status: 'approved' });
      expect(() => o.sqlite.prepare("update versions set status = 'pending' where id = ?").run(v.id)).toThrow(/ALREADY_DECIDED|AUDIT_REQUIRED/);
      appendAudit(o.db, { actor: 'sec', action: 'version.reject', subject: 'io.github.acme/weather@1.0.0' });
      expect(() => o.sqlite.prepare("update versions set status = 'rejected' where id = ?").run(v.id)).toThrow(/ALREADY_DECIDED/);
    });

    it('refuses an approval without its audit event, and never deletes one', () => {
      const o = fresh();
      const v = publish(o);
      const approval = { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{}', signerFingerprint: 'SHA256:a', createdAt: at };
      expect(() => insertApproval(o.db, approval)).toThrow(/AUDIT_REQUIRED/);
      appendAudit(o.db, { actor: 'alice', action: 'version.approve', subject: 'io.github.acme/weather@1.0.0', details: { approval: approval.digest } });
      insertApproval(o.db, approval);
      expect(() => o.sqlite.prepare('delete from approvals').run()).toThrow(/APPROVAL_PERMANENT/);
    });
  });

  describe('the audit chain', () => {
    it('shows a removed tail against a head signed earlier', () => {
      const o = fresh();
      for (let i = 0; i < 5; i++) appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: `t${i}` });
      const signed = auditTip(o.db);
      expect(signed.seq).toBe(5);
      expect(verifyAuditChain(o.db, signed)).toMatchObject({ ok: true, events: 5 });
      o.sqlite.exec('drop trigger audit_events_no_delete');
      o.sqlite.prepare('delete from audit_events where seq >= 4').run();
      // The rest of the chain still verifies on its own: only the signed head gives it away.
      expect(verifyAuditChain(o.db)).toMatchObject({ ok: true, events: 3 });
      expect(verifyAuditChain(o.db, signed)).toMatchObject({ ok: false, brokenAt: 4 });
      appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: 'x' });
      appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: 'y' });
      expect(verifyAuditChain(o.db, signed)).toMatchObject({ ok: false, brokenAt: 5 });
    });

    it('verifies from the first event and is append-only', () => {
      const o = fresh();
      for (let i = 0; i < 5; i++) appendAudit(o.db, { actor: 'admin', action: 'token.create', subject: `t${i}`, details: { i } });
      expect(verifyAuditChain(o.db)).toMatchObject({ ok: true, events: 5 });
      expect(() => o.sqlite.prepare("update audit_events set actor = 'x' where seq = 2").run()).toThrow(/AUDIT_APPEND_ONLY/);
      expect(() => o.sqlite.prepare('delete from audit_events where seq = 5').run()).toThrow(/AUDIT_APPEND_ONLY/);
    });

    it('fails the check when one stored event is edited directly', () => {
      const o = fresh();
      for (let i = 0; i < 4; i++) appendAudit(o.db, { actor: 'admin', action: 'allowlist.put', subject: `p${i}` });
      // An attacker with the file can drop the trigger; the chain still gives them away.
      o.sqlite.exec('drop trigger audit_events_no_update');
      o.sqlite.prepare("update audit_events set actor = 'mallory' where seq = 3").run();
      expect(verifyAuditChain(o.db)).toMatchObject({ ok: false, brokenAt: 3 });
    });
  });
});
