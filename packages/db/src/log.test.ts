import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consistencyProof, hashLeaf, inclusionProof, merkleTreeHash, readTile, treeRoot, verifyConsistency, verifyInclusion } from '@sigil/tlog';
import { afterEach, describe, expect, it } from 'vitest';
import { appendLogEntries, checkpointAt, insertCheckpoint, latestCheckpoint, logEntriesFor, logEntriesRange, logEntryByLeafHash, logHashReader, logSize, openDatabase, type OpenDatabase } from './index.js';

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

describe('the log tables', () => {
  it('append in the caller transaction, and give the RFC 6962 root and proofs at every size', () => {
    const o = open(freshPath());
    const bodies: Buffer[] = [];
    // Batches of 1, 2 and 3 entries, one transaction each.
    for (let i = 0; bodies.length < 70; i++) {
      const batch = Array.from({ length: (i % 3) + 1 }, (_, j) => body(bodies.length + j));
      const out = o.db.transaction((tx) => appendLogEntries(tx, batch.map((b) => ({ kind: 'manifest', subject: `s${i}`, form: 'sigil-event', body: b })), at));
      expect(out.map((r) => r.idx)).toEqual(batch.map((_, j) => bodies.length + j));
      bodies.push(...batch);
    }
    const n = bodies.length;
    const reader = logHashReader(o.db);
    const leaves = bodies.map((b) => hashLeaf(b));
    expect(logSize(o.db)).toBe(bodies.length);
    for (const size of [1, 2, 3, 7, 8, 33, 64, n]) {
      const root = treeRoot(size, reader);
      expect(Buffer.from(root)).toEqual(Buffer.from(merkleTreeHash(leaves.slice(0, size))));
      for (const index of [0, size - 1, Math.floor(size / 2)]) verifyInclusion(index, size, leaves[index]!, inclusionProof(index, size, reader), root);
      verifyConsistency(size, n, consistencyProof(size, n, reader), root, treeRoot(n, reader));
    }
    expect(logEntryByLeafHash(o.db, leaves[42]!)?.idx).toBe(42);
    expect(logEntriesRange(o.db, 0, 1000)).toHaveLength(n);
    expect(logEntriesFor(o.db, 's0', 'manifest')).toHaveLength(1);
    expect(readTile(reader, { level: 0, index: 0, width: n })).toHaveLength(n * 32);
  });

  it('needs no rebuild after a restart: the node hashes are on disk', () => {
    const path = freshPath();
    const first = open(path);
    first.db.transaction((tx) => appendLogEntries(tx, Array.from({ length: 20 }, (_, i) => ({ kind: 'approval', subject: 'x', form: 'sigil-event' as const, body: body(i) })), at));
    const before = treeRoot(20, logHashReader(first.db));
    first.close();
    const again = open(path);
    expect(Buffer.from(treeRoot(20, logHashReader(again.db)))).toEqual(Buffer.from(before));
    again.db.transaction((tx) => appendLogEntries(tx, [{ kind: 'approval', subject: 'x', form: 'sigil-event', body: body(20) }], at));
    expect(Buffer.from(treeRoot(21, logHashReader(again.db)))).toEqual(Buffer.from(merkleTreeHash(Array.from({ length: 21 }, (_, i) => hashLeaf(body(i))))));
  });

  it('rolls back with the record it logs: a failed transaction leaves no leaf and no node', () => {
    const o = open(freshPath());
    expect(() =>
      o.db.transaction((tx) => {
        appendLogEntries(tx, [{ kind: 'manifest', subject: 'x', form: 'sigil-event', body: body(0) }], at);
        throw new Error('the record failed');
      }),
    ).toThrow('the record failed');
    expect(logSize(o.db)).toBe(0);
    expect(o.sqlite.prepare('select count(*) as n from log_nodes').get()).toEqual({ n: 0 });
  });

  it('is append-only at the database level', () => {
    const o = open(freshPath());
    o.db.transaction((tx) => appendLogEntries(tx, [0, 1].map((i) => ({ kind: 'manifest', subject: 'x', form: 'sigil-event' as const, body: body(i) })), at));
    insertCheckpoint(o.db, { size: 2, root: treeRoot(2, logHashReader(o.db)), envelope: 'cp\n', signedAt: at });
    expect(() => o.sqlite.prepare("update log_entries set subject = 'y'").run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_entries').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('update log_nodes set hash = x\'00\'').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_nodes').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare("update log_checkpoints set envelope = 'x'").run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare('delete from log_checkpoints').run()).toThrow(/LOG_APPEND_ONLY/);
    expect(() => o.sqlite.prepare("insert into log_entries (idx, kind, subject, form, body, leaf_hash, created_at) values (5, 'k', 's', 'f', x'00', x'00', 'now')").run()).toThrow(/LOG_APPEND_ONLY/);
    expect(latestCheckpoint(o.db)?.size).toBe(2);
    expect(checkpointAt(o.db, 2)?.envelope).toBe('cp\n');
    expect(checkpointAt(o.db, 1)).toBeUndefined();
  });
});
