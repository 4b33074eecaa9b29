import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consistencyProof, hashLeaf, type NodeId, inclusionProof, merkleTreeHash, readTile, treeRoot, verifyConsistency, verifyInclusion } from '@sigil/tlog';
import { afterEach, describe, expect, it } from 'vitest';
import { appendLogEntries, checkpointAt, checkpointCovering, insertCheckpoint, latestCheckpoint, logEntriesFor, logEntriesForAny, logEntriesRange, logEntryAt, logEntryByLeafHash, logHashes, logSize, openDatabase, type OpenDatabase } from './index.js';

const dirs: string[] = [];
const opened: OpenDatabase[] = [];
afterEach(() => {
  opened.splice(0).forEach((o) => o.close());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-log-'));
  dirs.push(dir);
  return join(dir, 'registry.db');
}
function open(path: string): OpenDatabase {
  const o = openDatabase(path);
  opened.push(o);
  return o;
}
const at = '2026-11-29T00:00:00.000Z';
const body = (i: number) => Buffer.from(`{"entry":${i}}`);
/** Every stored node of a tree of `size` leaves. */
function everyNode(size: number): NodeId[] {
  const ids: NodeId[] = [];
  for (let level = 0; 2 ** level <= size; level++) for (let index = 0; index < Math.floor(size / 2 ** level); index++) ids.push({ level, index });
  return ids;
}

describe('the log tables', () => {
  it('append in the caller transaction, and give the RFC 6962 root and proofs at every size', async () => {
    const o = open(freshPath());
    const bodies: Buffer[] = [];
    // Batches of 1, 2 and 3 entries, one transaction each.
    for (let i = 0; bodies.length < 70; i++) {
      const batch = Array.from({ length: (i % 3) + 1 }, (_, j) => body(bodies.length + j));
      const out = await o.db.transaction(async (tx) => await appendLogEntries(tx, batch.map((b) => ({ kind: 'manifest', subject: `s${i}`, form: 'sigil-event', body: b })), at));
      expect(out.map((r) => r.idx)).toEqual(batch.map((_, j) => bodies.length + j));
      bodies.push(...batch);
    }
    const n = bodies.length;
    const reader = await logHashes(o.db, everyNode(bodies.length));
    const leaves = bodies.map((b) => hashLeaf(b));
    expect(await logSize(o.db)).toBe(bodies.length);
    for (const size of [1, 2, 3, 7, 8, 33, 64, n]) {
      const root = treeRoot(size, reader);
      expect(Buffer.from(root)).toEqual(Buffer.from(merkleTreeHash(leaves.slice(0, size))));
      for (const index of [0, size - 1, Math.floor(size / 2)]) verifyInclusion(index, size, leaves[index]!, inclusionProof(index, size, reader), root);
      verifyConsistency(size, n, consistencyProof(size, n, reader), root, treeRoot(n, reader));
    }
    expect((await logEntryByLeafHash(o.db, leaves[42]!))?.idx).toBe(42);
    expect(await logEntriesRange(o.db, 0, 1000)).toHaveLength(n);
    expect(await logEntriesFor(o.db, 's0', 'manifest')).toHaveLength(1);
    expect((await logEntriesForAny(o.db, ['s2', 's0', 'nothing'], ['manifest', 'approval'])).map((r) => [r.subject, r.idx])).toEqual([['s0', 0], ['s2', 3], ['s2', 4], ['s2', 5]]);
    expect(await logEntriesForAny(o.db, [], ['manifest'])).toEqual([]);
    expect(readTile(reader, { level: 0, index: 0, width: n })).toHaveLength(n * 32);
  });

  it('needs no rebuild after a restart: the node hashes are on disk', async () => {
    const path = freshPath();
    const first = open(path);
    await first.db.transaction(async (tx) => await appendLogEntries(tx, Array.from({ length: 20 }, (_, i) => ({ kind: 'approval', subject: 'x', form: 'sigil-event' as const, body: body(i) })), at));
    const before = treeRoot(20, await logHashes(first.db, everyNode(await logSize(first.db))));
    first.close();
    const again = open(path);
    expect(Buffer.from(treeRoot(20, await logHashes(again.db, everyNode(await logSize(again.db)))))).toEqual(Buffer.from(before));
    await again.db.transaction(async (tx) => await appendLogEntries(tx, [{ kind: 'approval', subject: 'x', form: 'sigil-event', body: body(20) }], at));
    expect(Buffer.from(treeRoot(21, await logHashes(again.db, everyNode(await logSize(again.db)))))).toEqual(Buffer.from(merkleTreeHash(Array.from({ length: 21 }, (_, i) => hashLeaf(body(i))))));
  });

  it('rolls back with the record it logs: a failed transaction leaves no leaf and no node', async () => {
    const o = open(freshPath());
    await expect(
      o.db.transaction(async (tx) => {
        await appendLogEntries(tx, [{ kind: 'manifest', subject: 'x', form: 'sigil-event', body: body(0) }], at);
        throw new Error('the record failed');
      }),
    ).rejects.toThrow('the record failed');
    expect(await logSize(o.db)).toBe(0);
    expect(o.sqlite.prepare('select count(*) as n from log_nodes').get()).toEqual({ n: 0 });
  });

  it('is append-only at the database level', async () => {
    const o = open(freshPath());
    await o.db.transaction(async (tx) => await appendLogEntries(tx, [0, 1].map((i) => ({ kind: 'manifest', subject: 'x', form: 'sigil-event' as const, body: body(i) })), at));
    await insertCheckpoint(o.db, { size: 2, root: treeRoot(2, await logHashes(o.db, everyNode(await logSize(o.db)))), envelope: 'cp\n', signedAt: at });
    expect(() => o.sqlite.prepare("update log_entries set subject = 'y'").run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_entries').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('update log_nodes set hash = x\'00\'').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_nodes').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare("update log_checkpoints set envelope = 'x'").run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_checkpoints').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare("insert into log_entries (idx, kind, subject, form, body, leaf_hash, created_at) values (5, 'k', 's', 'f', x'00', x'00', 'now')").run()).toThrow(/LOG_APPEND_ONLY/);
    expect((await latestCheckpoint(o.db))?.size).toBe(2);
    expect((await checkpointAt(o.db, 2))?.envelope).toBe('cp\n');
    expect(await checkpointAt(o.db, 1)).toBeUndefined();
  });

  describe('when a hash or body column holds text where bytes were written (a restore through a tool that turned blobs to text)', () => {
    // SQLite keeps whatever type a value had; a text hash read as bytes would be the wrong hash
    // (drizzle turns text into its UTF-8 bytes; new Uint8Array(text) into zeros or nothing).
    it('every read of the log fails closed with STORED_VALUE_INVALID, on plain SQL and on drizzle', async () => {
      const o = open(freshPath());
      await o.db.transaction(async (tx) => await appendLogEntries(tx, [{ kind: 'manifest', subject: 'x', form: 'sigil-event', body: body(0) }], at));
      const leaf = Buffer.from(hashLeaf(body(1)));
      // Rows appended as the next leaf would be, but each bytes column written as its hex text.
      o.sqlite.prepare("insert into log_entries (idx, kind, subject, form, body, leaf_hash, created_at) values (1, 'manifest', 'y', 'sigil-event', ?, ?, ?)").run(body(1).toString('utf8'), leaf.toString('hex'), at);
      o.sqlite.prepare('insert into log_nodes (level, idx, hash) values (0, 1, ?)').run(leaf.toString('hex'));
      o.sqlite.prepare("insert into log_checkpoints (size, root, envelope, signed_at) values (2, ?, 'cp', ?)").run('1'.repeat(64), at);
      const code = async (read: () => Promise<unknown>) => (await read().then(() => undefined, (e: unknown) => e)) as { code?: string } | undefined;
      expect((await code(async () => (await logHashes(o.db, [{ level: 0, index: 1 }])).readHashes([{ level: 0, index: 1 }])))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => logEntriesFor(o.db, 'y', 'manifest')))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => logEntryAt(o.db, 1)))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => logEntriesRange(o.db, 0, 2)))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => logEntriesForAny(o.db, ['y'], ['manifest'])))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => checkpointCovering(o.db, 2)))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => latestCheckpoint(o.db)))?.code).toBe('STORED_VALUE_INVALID');
      expect((await code(() => checkpointAt(o.db, 2)))?.code).toBe('STORED_VALUE_INVALID');
      // The rows written as bytes still read.
      expect((await logEntryAt(o.db, 0))?.leafHash).toEqual(Buffer.from(hashLeaf(body(0))));
      expect((await logHashes(o.db, [{ level: 0, index: 0 }])).readHashes([{ level: 0, index: 0 }])).toHaveLength(1);
    });

    it('a hash of the wrong length fails closed too', async () => {
      const o = open(freshPath());
      await o.db.transaction(async (tx) => await appendLogEntries(tx, [{ kind: 'manifest', subject: 'x', form: 'sigil-event', body: body(0) }], at));
      o.sqlite.prepare('insert into log_nodes (level, idx, hash) values (0, 1, ?)').run(Buffer.alloc(31));
      await expect(logHashes(o.db, [{ level: 0, index: 1 }])).rejects.toMatchObject({ code: 'STORED_VALUE_INVALID' });
    });
  });
});
