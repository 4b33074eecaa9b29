import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAudit, insertServer, insertVersion, openDatabase, serverExists, verifyAuditChain } from './index.js';

// Group commit on SQLite: transactions waiting together share one COMMIT (one fsync), each in a
// savepoint; each caller hears back only once the group is on disk.
const dir = mkdtempSync(join(tmpdir(), 'sigil-group-commit-'));
const file = join(dir, 'registry.db');
const o = openDatabase(file);
// A second connection to the same file: it sees only what was committed.
const other = new Database(file, { readonly: true });
afterAll(() => {
  other.close();
  o.close();
  rmSync(dir, { recursive: true, force: true });
});
const at = '2026-11-30T00:00:00.000Z';
const committed = (name: string) => (other.prepare('SELECT count(*) AS n FROM servers WHERE name = ?').get(name) as { n: number }).n === 1;
const server = (name: string) => ({ name, namespace: 'io.github.acme', owner: 'acme', createdAt: at });

describe('group commit', () => {
  it('commits the transactions started together in one group: none is visible to another connection before the group commits', async () => {
    const seenFromOutside: boolean[] = [];
    const names = ['io.github.acme/g1', 'io.github.acme/g2', 'io.github.acme/g3'];
    const results = await Promise.all(
      names.map((name, i) =>
        o.db.transaction(async (tx) => {
          await insertServer(tx, server(name));
          await appendAudit(tx, { actor: 'acme', action: 'server.create', subject: name });
          // The members before this one ran in the same SQLite transaction, not yet committed.
          seenFromOutside.push(...names.slice(0, i).map(committed));
          return i;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2]);
    expect(seenFromOutside).toEqual([false, false, false]);
    expect(names.map(committed)).toEqual([true, true, true]);
    expect(await verifyAuditChain(o.db)).toMatchObject({ ok: true });
  });

  it('rolls back only the member that throws; the others commit, and each hears back only once on disk', async () => {
    const names = ['io.github.acme/h1', 'io.github.acme/h2', 'io.github.acme/h3', 'io.github.acme/h4'];
    const heard: Array<[string, boolean]> = [];
    const outcomes = await Promise.allSettled(
      names.map((name, i) =>
        o.db
          .transaction(async (tx) => {
            await insertServer(tx, server(name));
            await appendAudit(tx, { actor: 'acme', action: 'server.create', subject: name });
            if (i === 1) throw new Error('refused: h2');
            // A constraint failure inside SQLite, after this member's own writes.
            if (i === 2) {
              await insertVersion(tx, {
                server: 'io.github.acme/none', version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{"tools":[]}', bundle: '{}',
                signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
              });
            }
            return name;
          })
          .then((value) => {
            heard.push([value, committed(value)]);
            return value;
          }),
      ),
    );
    expect(outcomes.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused: h2' });
    expect(heard).toEqual([
      ['io.github.acme/h1', true],
      ['io.github.acme/h4', true],
    ]);
    expect(names.map(committed)).toEqual([true, false, false, true]);
    expect(await serverExists(o.db, 'io.github.acme/h3')).toBe(false);
    // The audit chain holds h1 and h4's events, linked without a gap.
    expect(await verifyAuditChain(o.db)).toMatchObject({ ok: true });
  });

  it('runs a transaction started inside a member after the group, not inside it', async () => {
    let inner: Promise<void> | undefined;
    await o.db.transaction(async (tx) => {
      await insertServer(tx, server('io.github.acme/k1'));
      // Started outside the member's async context (a timer): queued for the next group.
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          inner = o.db.transaction(async (t2) => void (await insertServer(t2, server('io.github.acme/k2'))));
          resolve();
        }, 0),
      );
    });
    await inner;
    expect(['io.github.acme/k1', 'io.github.acme/k2'].map(committed)).toEqual([true, true]);
  });

  it('tracks each transaction again after the last one ended: its reads through db and a nested transaction go straight through, a read from outside waits', async () => {
    // The transaction context is turned off between transactions; each one turns it on again.
    for (const n of [1, 2, 3]) {
      let opened!: () => void;
      let release!: () => void;
      const open = new Promise<void>((resolve) => (opened = resolve));
      const held = o.db.transaction(async (tx) => {
        await insertServer(tx, server(`io.github.acme/again${n}`));
        // A read through db from inside sees the uncommitted row (it would wait forever if the transaction were not its own).
        expect(await serverExists(o.db, `io.github.acme/again${n}`)).toBe(true);
        await o.db.transaction(async (nested) => void (await insertServer(nested, server(`io.github.acme/nested${n}`))));
        opened();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await open;
      // From outside the transaction's context: runs only after the commit.
      const outside = serverExists(o.db, `io.github.acme/nested${n}`).then((found) => found && committed(`io.github.acme/nested${n}`));
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(committed(`io.github.acme/again${n}`)).toBe(false);
      release();
      await held;
      expect(await outside).toBe(true);
    }
  });
});

describe('a snapshot', () => {
  it('reads one state: a write transaction started during it waits until it ends, then commits', async () => {
    const name = 'io.github.acme/snapshot';
    let writing: Promise<unknown> | undefined;
    const seen = await o.db.snapshot(async () => {
      const first = await serverExists(o.db, name);
      writing = o.db.transaction((tx) => insertServer(tx, server(name)));
      // Turns of the event loop in which the group would run (it starts on setImmediate).
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return [first, committed(name), await serverExists(o.db, name)];
    });
    expect(seen).toEqual([false, false, false]);
    await writing;
    expect([committed(name), await serverExists(o.db, name)]).toEqual([true, true]);
  });
});
