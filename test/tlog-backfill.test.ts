import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMigrationsFolder, openDatabase } from '@sigil/db';
import { HostTrustStore, loadPolicy } from '@sigil/resolver';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeWorld } from './acme-world.js';

// A registry upgraded from a release without the transparency log (migration 0004) logs the
// history it accepted before at start (backfill-log.ts), so hosts whose pinned trusted root lists
// the log resolve those versions. The pre-log database is built honestly: the log tables are
// append-only, so instead of deleting entries, a database is opened at migration 0003 and the
// records a real registry accepted (real signed bundles, its audit chain) are written into it in
// audit order, the way that release wrote them; then the registry starts on it.
let registry: RegistryProcess;
const world = acmeWorld('sigil-tlog-backfill-', () => registry);
const { path, tokens, ok } = world;
const WEATHER = 'io.github.acme/weather';
const ENV = { SIGIL_LOG_CHECKPOINT_MS: '200' };

async function publish(version: string, approve: boolean): Promise<void> {
  await world.publish(weatherManifest({ name: WEATHER, version }), approve ? ['alice'] : []);
}

type Entry = { kind: string; subject: string; form: string; body: Buffer };
/** The log's entries about versions (not the registry's keys nor audit heads), in log order. */
function versionEntries(dataDir: string): Entry[] {
  const db = new Database(join(dataDir, 'registry.db'), { readonly: true });
  try {
    return db.prepare("SELECT kind, subject, form, body FROM log_entries WHERE kind IN ('manifest', 'approval', 'rejection', 'revocation') ORDER BY idx").all() as Entry[];
  } finally {
    db.close();
  }
}
/** The audit sequence number of the newest audit-chain head in the log (`audit:<seq>`). */
function newestAuditHead(dataDir: string): number {
  const db = new Database(join(dataDir, 'registry.db'), { readonly: true });
  try {
    return Number((db.prepare("SELECT subject FROM log_entries WHERE kind = 'audit-head' ORDER BY idx DESC LIMIT 1").get() as { subject: string }).subject.slice('audit:'.length));
  } finally {
    db.close();
  }
}
function logRows(dataDir: string): number {
  const db = new Database(join(dataDir, 'registry.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM log_entries').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * The database a pre-log release would hold: migrations 0000–0003 (drizzle's migrator over a copy
 * of those files), the origin's records copied, and its approvals inserted right after their audit
 * events (the database refuses an approval whose audit event is not the newest one).
 */
function preLogDatabase(origin: string, target: string): void {
  const migrations = path('migrations-0003');
  mkdirSync(join(migrations, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(defaultMigrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string }> };
  journal.entries = journal.entries.filter((e) => e.idx <= 3);
  writeFileSync(join(migrations, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) cpSync(join(defaultMigrationsFolder(), `${e.tag}.sql`), join(migrations, `${e.tag}.sql`));
  mkdirSync(target, { recursive: true, mode: 0o700 });
  cpSync(join(origin, 'keys'), join(target, 'keys'), { recursive: true });
  const opened = openDatabase(join(target, 'registry.db'), { migrationsFolder: migrations });
  const db = opened.sqlite;
  try {
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'log_entries'").get()).toEqual({ n: 0 });
    db.prepare('ATTACH DATABASE ? AS origin').run(join(origin, 'registry.db'));
    db.transaction(() => {
      for (const table of ['principals', 'tokens', 'allowlist', 'allowlist_signers', 'allowlist_builders', 'reviewers', 'certificate_authorities', 'servers', 'versions', 'version_tools', 'tombstones']) {
        // The columns the pre-log schema has: later migrations add some (the CA a certificate identity is bound to).
        const columns = (db.prepare(`PRAGMA main.table_info(${table})`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(', ');
        db.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM origin.${table}`);
      }
      const approvals = db.prepare('SELECT * FROM origin.approvals').all() as Array<{ digest: string }>;
      const insertApproval = db.prepare('INSERT INTO main.approvals (id, version_id, reviewer, digest, bundle, signer_fingerprint, created_at) VALUES (@id, @version_id, @reviewer, @digest, @bundle, @signer_fingerprint, @created_at)');
      const insertAudit = db.prepare('INSERT INTO main.audit_events SELECT * FROM origin.audit_events WHERE seq = ?');
      for (const e of db.prepare('SELECT seq, action, details FROM origin.audit_events ORDER BY seq').all() as Array<{ seq: number; action: string; details: string }>) {
        insertAudit.run(e.seq);
        if (e.action === 'version.approve') insertApproval.run(approvals.find((a) => a.digest === (JSON.parse(e.details) as { approval: string }).approval)!);
      }
    })();
    db.exec('DETACH DATABASE origin');
  } finally {
    opened.close();
  }
}

let original: Entry[];

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('origin'), env: ENV });
  await world.provision(['alice']);
  await publish('1.0.0', true);
  await publish('1.1.0', true);
  await publish('1.2.0', true);
  await ok(['revoke', `${WEATHER}@1.2.0`, '--reason', 'key leaked'], tokens.alice!);
  await publish('1.3.0', false);
  await ok(['review', 'reject', `${WEATHER}@1.3.0`, '--reason', 'not ours'], tokens.alice!);
  await registry.stop();
  original = versionEntries(path('origin'));
  preLogDatabase(path('origin'), path('upgraded'));
  registry = await startRegistry({ dataDir: path('upgraded'), env: ENV });
}, 180_000);
afterAll(async () => {
  await registry?.stop();
  world.remove();
});

describe('a registry upgraded from a database without the log', () => {
  it('logs the history at start: a host pinning the log locks and resolves a version approved before the log', async () => {
    const h = path('host');
    await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub')], tokens.reader!);
    const policy = await loadPolicy(join(h, 'sigil.policy.json'));
    expect(JSON.stringify(policy)).toContain('tlogs');
    const store = new HostTrustStore({ policy, lockfile: join(h, 'sigil.lock.json'), token: tokens.reader!, limits: { timeoutMs: 5000 } });
    await store.lock([{ name: WEATHER, version: '1.1.0' }]);
    expect((await store.resolve()).servers.map((s) => s.version)).toEqual(['1.1.0']);
  });

  it('appends the entries the live path wrote, in the original order, and a restart appends nothing', async () => {
    await registry.stop();
    expect(versionEntries(path('upgraded'))).toEqual(original);
    expect(original.map((e) => `${e.kind} ${e.subject}`)).toEqual(expect.arrayContaining([`revocation ${WEATHER}@1.2.0`, `rejection ${WEATHER}@1.3.0`]));
    const size = logRows(path('upgraded'));
    registry = await startRegistry({ dataDir: path('upgraded'), port: Number(new URL(registry.url).port), env: { ...ENV, SIGIL_LOG_LEVEL: 'info' } });
    await registry.stop();
    expect(logRows(path('upgraded'))).toBe(size);
    // The restart read the audit chain only after the newest head the log holds, not from the start.
    const line = registry.stdout().split('\n').find((l) => l.includes('log backfill: logged'));
    const after = (JSON.parse(line!) as { afterAuditSeq: number }).afterAuditSeq;
    expect(after).toBeGreaterThan(0);
    expect(after).toBe(newestAuditHead(path('upgraded')));
    registry = await startRegistry({ dataDir: path('upgraded'), env: ENV });
  });
});
