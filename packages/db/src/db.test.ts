import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, insertServer, insertVersion, openDatabase, setVersionStatus, verifyAuditChain, versionOf, type OpenDatabase } from './index.js';

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
      setVersionStatus(o.db, v.id, { status: 'approved' });
      expect(versionOf(o.db, 'io.github.acme/weather', '1.0.0')?.status).toBe('approved');
    });

    it('keeps a rejection or revocation final', () => {
      const o = fresh();
      const v = publish(o);
      setVersionStatus(o.db, v.id, { status: 'revoked', revocationReason: 'bad', revokedBy: 'sec', revokedAt: at });
      expect(() => setVersionStatus(o.db, v.id, { status: 'approved' })).toThrow(/ALREADY_DECIDED/);
    });

    it('leaves a tombstone on delete, so name@version is never reused', () => {
      const o = fresh();
      const v = publish(o);
      o.sqlite.prepare('delete from versions where id = ?').run(v.id);
      expect(() => publish(o)).toThrow(/VERSION_EXISTS/);
    });
  });

  describe('the audit chain', () => {
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
