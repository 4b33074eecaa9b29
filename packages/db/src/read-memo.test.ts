import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { freshDatabases } from './fresh-database.fixture.js';
import { remembered, watchesWalIndex } from './read-memo.js';
import { ensurePrincipal, insertApproval, insertServer, insertToken, insertVersion, readTokenAndApproved, readTokenAndSummaries, readTokenAndVersionText, appendAudit, tokenBySecretHash, openDatabase, type OpenDatabase } from './index.js';

/**
 * The point reads kept per connection (read-memo.ts) against real SQLite files: the same
 * question gets the same answer object while no row changed, and a change made any way there
 * is (this connection's write, a second connection, the sqlite3 CLI in another process) is read
 * at the next ask; nothing read inside a transaction is kept, so a rolled-back write is never served.
 */
const fresh = freshDatabases('sigil-memo-');
const at = '2026-11-24T00:00:00.000Z';
const NAME = 'io.github.acme/weather';
const HASH = 'sha256:reader';

async function world(): Promise<OpenDatabase> {
  const o = fresh();
  await insertServer(o.db, { name: NAME, namespace: 'io.github.acme', owner: 'acme', createdAt: at });
  const v = await insertVersion(o.db, {
    server: NAME, version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{"description":"as published"}', bundle: '{}',
    signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
  });
  await appendAudit(o.db, { actor: 'alice', action: 'version.approve', subject: `${NAME}@1.0.0`, details: { approval: `sha256:${'c'.repeat(64)}` } });
  await insertApproval(o.db, { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{"b":1}', signerFingerprint: 'SHA256:y', createdAt: at });
  await ensurePrincipal(o.db, 'host', at);
  await insertToken(o.db, { id: 't1', principal: 'host', secretHash: HASH, role: 'reader', createdAt: at, expiresAt: '2099-01-01T00:00:00.000Z' });
  return o;
}

const version = (o: OpenDatabase) => readTokenAndVersionText(o.db, HASH, NAME, '1.0.0');
const server = (o: OpenDatabase) => readTokenAndSummaries(o.db, HASH, NAME);
const approved = (o: OpenDatabase) => readTokenAndApproved(o.db, HASH, NAME);

describe('when the same point read is asked again', () => {
  it('gives the answer read before, while no row changed', async () => {
    const o = await world();
    const first = await version(o);
    expect(first.found?.head).toContain('as published');
    expect(await version(o)).toBe(first);
    const summaries = await server(o);
    expect(summaries.summaries.map((s) => s.version)).toEqual(['1.0.0']);
    expect(await server(o)).toBe(summaries);
    const list = await approved(o);
    expect(list.token?.principal).toBe('host');
    expect(await approved(o)).toBe(list);
    // Another question is its own entry.
    expect(await readTokenAndVersionText(o.db, HASH, NAME, '9.9.9')).not.toBe(first);
  });

  it('keeps a known token (what every authenticated request reads), and reads its revocation by another process', async () => {
    const o = await world();
    const first = await tokenBySecretHash(o.db, HASH);
    expect(first?.principal).toBe('host');
    expect(await tokenBySecretHash(o.db, HASH)).toBe(first);
    expect(await tokenBySecretHash(o.db, 'sha256:nobody')).toBeUndefined();
    execFileSync('sqlite3', [o.sqlite.name, `UPDATE tokens SET revoked_at = '${at}' WHERE id = 't1';`]);
    expect((await tokenBySecretHash(o.db, HASH))?.revokedAt).toBe(at);
  });

  it('keeps no answer for an unknown token or version: each ask reads', async () => {
    const o = await world();
    const unknown = await readTokenAndVersionText(o.db, 'sha256:nobody', NAME, '1.0.0');
    expect(unknown.token).toBeUndefined();
    expect(await readTokenAndVersionText(o.db, 'sha256:nobody', NAME, '1.0.0')).not.toBe(unknown);
    const missing = await readTokenAndVersionText(o.db, HASH, NAME, '9.9.9');
    expect(missing.found).toBeUndefined();
    expect(await readTokenAndVersionText(o.db, HASH, NAME, '9.9.9')).not.toBe(missing);
  });

  it('reads a row changed through this connection as it now is', async () => {
    const o = await world();
    expect((await version(o)).found?.head).toContain('as published');
    await o.raw.run('DROP TRIGGER versions_content_immutable');
    await o.raw.run("UPDATE versions SET manifest = '{\"description\":\"changed here\"}' WHERE server = ?", [NAME]);
    expect((await version(o)).found?.head).toContain('changed here');
    await server(o);
    await approved(o);
    await o.raw.run('UPDATE tokens SET revoked_at = ? WHERE id = ?', [at, 't1']);
    expect((await server(o)).token?.revokedAt).toBe(at);
    expect((await approved(o)).token?.revokedAt).toBe(at);
    expect((await version(o)).token?.revokedAt).toBe(at);
  });

  it('reads a row changed by another connection, and by the sqlite3 CLI in another process, as it now is', async () => {
    const o = await world();
    const path = o.sqlite.name;
    expect((await version(o)).found?.head).toContain('as published');
    const other = new Database(path);
    other.exec('DROP TRIGGER versions_content_immutable');
    other.prepare("UPDATE versions SET manifest = '{\"description\":\"changed by a second connection\"}' WHERE server = ?").run(NAME);
    other.close();
    expect((await version(o)).found?.head).toContain('changed by a second connection');
    expect((await server(o)).token?.revokedAt).toBeNull();
    expect((await approved(o)).token?.revokedAt).toBeNull();
    execFileSync('sqlite3', [path, `UPDATE tokens SET revoked_at = '${at}' WHERE id = 't1'; UPDATE versions SET manifest = '{"description":"changed by the CLI"}' WHERE server = '${NAME}';`]);
    const now = await version(o);
    expect(now.token?.revokedAt).toBe(at);
    expect(now.found?.head).toContain('changed by the CLI');
    expect((await server(o)).token?.revokedAt).toBe(at);
    expect((await approved(o)).token?.revokedAt).toBe(at);
  });

  it('sees every commit of another process off the WAL-index header, across checkpoints and log restarts', async () => {
    const o = await world();
    // openDatabase watches the header, for the connection and the proxy the point reads go through: no statement per stamp.
    expect(watchesWalIndex(o.sqlite)).toBe(true);
    expect(watchesWalIndex((o.db.handle() as unknown as { $client: Database.Database }).$client)).toBe(true);
    const path = o.sqlite.name;
    execFileSync('sqlite3', [path, 'DROP TRIGGER versions_content_immutable;']);
    for (let i = 0; i < 12; i++) {
      expect((await version(o)).found?.head).toContain(i === 0 ? 'as published' : `"n${i - 1}"`);
      // Every third commit after a full checkpoint, so the log restarts (new salts, frame count from 0).
      const checkpoint = i % 3 === 0 ? 'PRAGMA wal_checkpoint(TRUNCATE);' : '';
      execFileSync('sqlite3', [path, `${checkpoint}UPDATE versions SET manifest = '{"description":"n${i}"}' WHERE server = '${NAME}';`]);
    }
    expect((await version(o)).found?.head).toContain('"n11"');
  });

  it('reads the -shm file SQLite uses when the database is opened through a symbolic link, never a stale one beside the link', async () => {
    const made = await world();
    const target = made.sqlite.name;
    const linkDir = mkdtempSync(join(tmpdir(), 'sigil-memo-link-'));
    const link = join(linkDir, 'registry.db');
    // A -shm left beside the link (a crash, a moved database) that SQLite never writes: a valid header, for ever the same.
    copyFileSync(`${target}-shm`, `${link}-shm`);
    made.close();
    try {
      symlinkSync(target, link);
      const o = openDatabase(link);
      try {
        expect(watchesWalIndex(o.sqlite)).toBe(true);
        expect((await version(o)).token?.revokedAt).toBeNull();
        execFileSync('sqlite3', [target, `UPDATE tokens SET revoked_at = '${at}' WHERE id = 't1';`]);
        expect((await version(o)).token?.revokedAt).toBe(at);
      } finally {
        o.close();
      }
    } finally {
      rmSync(linkDir, { recursive: true, force: true });
    }
  });

  it('reads PRAGMA data_version for a connection whose WAL index is not watched', async () => {
    const o = fresh();
    const path = o.sqlite.name;
    o.close();
    const mine = new Database(path);
    const other = new Database(path);
    try {
      expect(watchesWalIndex(mine)).toBe(false);
      const count = () => mine.prepare('SELECT count(*) AS n FROM principals').get() as { n: number };
      const ask = () => remembered(mine, 'principals', count, () => true, async () => count());
      const first = await ask();
      expect(await ask()).toBe(first);
      other.prepare('INSERT INTO principals (name, created_at) VALUES (?, ?)').run('bob', at);
      expect((await ask()).n).toBe(first.n + 1);
    } finally {
      mine.close();
      other.close();
    }
  });

  it('answers the asks of a turn at its end: a commit made before then is read, by every ask of the turn', async () => {
    const o = await world();
    await version(o);
    // Asked, then (in the same turn) another process revokes the token: the answers are read after it.
    const asks = [version(o), version(o), server(o), approved(o)] as const;
    execFileSync('sqlite3', [o.sqlite.name, `UPDATE tokens SET revoked_at = '${at}' WHERE id = 't1';`]);
    const [a, b, s, p] = await Promise.all(asks);
    expect(a.token?.revokedAt).toBe(at);
    expect(b).toBe(a);
    expect(s.token?.revokedAt).toBe(at);
    expect(p.token?.revokedAt).toBe(at);
  });

  it('answers an ask made before a write group began from the state before it, so a member awaiting it does not wait for itself', async () => {
    const o = await world();
    await version(o);
    const asked: { read?: ReturnType<typeof version> } = {};
    // The group is asked for first; the read is asked in the same turn, after it; the member awaits the read.
    const writing = o.db.transaction(async (tx) => {
      const before = await asked.read!;
      (tx.handle() as unknown as { $client: Database.Database }).$client.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(at, 't1');
      return before;
    });
    asked.read = version(o);
    // Before the fix the ask waited for the writer, which waited for the ask: the write lock held for ever.
    const before = await writing;
    expect(before.token?.revokedAt).toBeNull();
    expect((await version(o)).token?.revokedAt).toBe(at);
  });

  it('refuses the asks of a turn whose connection closed before its end, and the process goes on', async () => {
    const o = await world();
    const asked = version(o);
    o.close();
    await expect(asked).rejects.toThrow(/not open/);
  });

  it('keeps nothing read inside a transaction: a write rolled back is never served', async () => {
    const o = await world();
    const before = await version(o);
    await expect(
      o.db.transaction(async (tx) => {
        // A write of this transaction, read inside it, then undone.
        await readTokenAndVersionText(tx, HASH, NAME, '1.0.0');
        (tx.handle() as unknown as { $client: Database.Database }).$client.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(at, 't1');
        expect((await readTokenAndVersionText(tx, HASH, NAME, '1.0.0')).token?.revokedAt).toBe(at);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const after = await version(o);
    expect(after.token?.revokedAt).toBeNull();
    expect(after).toEqual(before);
  });
});

describe('when the same page is asked again (Db.keptSnapshot)', () => {
  /** A page read as the listings read it: in a snapshot, from the rows as they are; counts its reads. */
  function pages(o: OpenDatabase) {
    let reads = 0;
    const page = () =>
      o.db.keptSnapshot('page', async () => {
        reads++;
        const rows = await o.raw.all<{ manifest: string }>('SELECT manifest FROM versions WHERE server = ?', [NAME]);
        return JSON.stringify(rows);
      });
    return { page, reads: () => reads };
  }

  it('answers from the page read before while no row changed, and reads again after any change', async () => {
    const o = await world();
    const { page, reads } = pages(o);
    expect(await page()).toContain('as published');
    expect(await page()).toContain('as published');
    expect(reads()).toBe(1);
    // Another key is its own entry.
    expect(await o.db.keptSnapshot('other page', async () => 'other')).toBe('other');
    await o.raw.run('DROP TRIGGER versions_content_immutable');
    await o.raw.run("UPDATE versions SET manifest = '{\"description\":\"changed here\"}' WHERE server = ?", [NAME]);
    expect(await page()).toContain('changed here');
    expect(reads()).toBe(2);
    execFileSync('sqlite3', [o.sqlite.name, `UPDATE versions SET manifest = '{"description":"changed by the CLI"}' WHERE server = '${NAME}';`]);
    expect(await page()).toContain('changed by the CLI');
    expect(reads()).toBe(3);
  });

  it('never serves a page read before another process committed, once it has: the next ask reads again', async () => {
    const o = await world();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A page read that sees the rows, then waits; meanwhile another process commits and another ask sees it.
    const slow = o.db.keptSnapshot('page', async () => {
      const rows = await o.raw.all<{ manifest: string }>('SELECT manifest FROM versions WHERE server = ?', [NAME]);
      await gate;
      return JSON.stringify(rows);
    });
    await new Promise((resolve) => setImmediate(resolve));
    const other = new Database(o.sqlite.name);
    other.exec('DROP TRIGGER versions_content_immutable');
    other.prepare("UPDATE versions SET manifest = '{\"description\":\"changed meanwhile\"}' WHERE server = ?").run(NAME);
    other.close();
    // An ask while the slow page's read transaction is open reads on it and keeps nothing.
    expect(await o.db.keptSnapshot('another', async () => 'x')).toBe('x');
    release();
    expect(await slow).toContain('as published');
    expect(await o.db.keptSnapshot('page', async () => JSON.stringify(await o.raw.all('SELECT manifest FROM versions WHERE server = ?', [NAME])))).toContain('changed meanwhile');
  });

  it('keeps nothing asked inside a write transaction', async () => {
    const o = await world();
    let reads = 0;
    const ask = () => o.db.keptSnapshot('page', async () => String(++reads));
    await o.db.transaction(async () => {
      expect(await ask()).toBe('1');
    });
    expect(await ask()).toBe('2');
    expect(await ask()).toBe('2');
  });
});
