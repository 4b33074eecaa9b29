import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@sigil/testing';
import { hashLeaf, merkleTreeHash, treeRoot, treeRootNodes } from '@sigil/tlog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendAudit,
  appendLogEntries,
  auditTip,
  countPending,
  ensurePrincipal,
  logEntriesForAny,
  insertApproval,
  insertServer,
  insertToken,
  insertVersion,
  logHashes,
  logSize,
  openPostgres,
  serverJsonOf,
  readTokenAndApproved,
  readTokenAndSummaries,
  readTokenAndVersion,
  readTokenAndVersionText,
  readVersion,
  readVersionWithApprovalDigests,
  readVersionWithApprovals,
  readStatusSnapshot,
  serverExists,
  setVersionStatus,
  verifyAuditChain,
  versionOf,
  type OpenPostgres,
} from './index.js';
import { PIPELINED_READS, type PgQueryable } from './database.js';

// The same query functions over a real PostgreSQL server (a database of this file's own).
let pgdb: TestDatabase;
let a: OpenPostgres;
let b: OpenPostgres;
beforeAll(async () => {
  pgdb = await createTestDatabase('sigil_db');
  // Two "instances" starting together: the migrations run once, under the advisory lock.
  [a, b] = await Promise.all([openPostgres(pgdb.url), openPostgres(pgdb.url)]);
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await pgdb?.drop();
});

const at = '2026-11-30T00:00:00.000Z';
async function publish(o: OpenPostgres, server: string, version = '1.0.0') {
  await insertServer(o.db, { name: server, namespace: server.split('/')[0]!, owner: 'acme', createdAt: at });
  return insertVersion(o.db, {
    server, version, digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, manifest: '{"tools":[{"name":"t"}]}', bundle: '{}',
    signerKind: 'key', signerFingerprint: 'SHA256:x', publisher: 'acme', status: 'pending', risk: 'low', publishedAt: at,
  });
}
const raw = (sql: string, params: unknown[] = []) => a.pool.query(sql, params);
/** How many pipelined read connections are open to the test database now. */
const pipelined = async () => Number((await raw('select count(*) as n from pg_stat_activity where datname = $1 and application_name = $2', [pgdb.name, PIPELINED_READS])).rows[0].n);
/** Reads `name`@1.0.0 until `count` pipelined connections are open (the first reads open them, answered on the pool meanwhile). */
async function awaitPipelined(db: Parameters<typeof readVersion>[0], name: string, count: number): Promise<void> {
  for (let i = 0; (await pipelined()) < count; i++) {
    expect(i).toBeLessThan(200);
    await readVersion(db, name, '1.0.0');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PostgreSQL', () => {
  it('reads one state in a snapshot: a write another instance commits during it stays unseen until it ends', async () => {
    const name = 'io.github.acme/snapshot';
    const seen = await a.db.snapshot(async () => {
      const first = await serverExists(a.db, name);
      await insertServer(b.db, { name, namespace: 'io.github.acme', owner: 'acme', createdAt: at });
      return [first, await serverExists(b.db, name), await serverExists(a.db, name)];
    });
    expect(seen).toEqual([false, true, false]);
    expect(await serverExists(a.db, name)).toBe(true);
  });

  it('keeps each transaction its own while others begin and end beside it, and again after none was open', async () => {
    // The transaction context is off while no transaction is open; the first one to begin turns it on again.
    const server = (name: string) => ({ name, namespace: 'io.github.acme', owner: 'acme', createdAt: at });
    for (const n of [1, 2]) {
      let opened!: () => void;
      let release!: () => void;
      const open = new Promise<void>((resolve) => (opened = resolve));
      const held = a.db.transaction(async (tx) => {
        await insertServer(tx, server(`io.github.acme/own${n}`));
        opened();
        await new Promise<void>((resolve) => (release = resolve));
        // A snapshot began and ended meanwhile: reads through db are still on this one's connection.
        const own = await serverExists(a.db, `io.github.acme/own${n}`);
        await a.db.transaction(async (nested) => void (await insertServer(nested, server(`io.github.acme/joined${n}`))));
        return [own, await serverExists(a.db, `io.github.acme/joined${n}`)];
      });
      await open;
      // A snapshot beside it (writers wait for the write lock it holds): its own context, begun and ended.
      expect(await a.db.snapshot(() => serverExists(a.db, `io.github.acme/own${n}`))).toBe(false);
      expect(await serverExists(a.db, `io.github.acme/own${n}`)).toBe(false);
      release();
      expect(await held).toEqual([true, true]);
      expect(await serverExists(b.db, `io.github.acme/joined${n}`)).toBe(true);
    }
  });

  it("counts a namespace's pending versions from one range of versions_status_server_idx, in byte order whatever the collation", async () => {
    for (const name of ['io.github.pend/a', 'io.github.PEND/b', 'io.github.pend-x/c', 'io.github.pend.sub/d', 'io.github.pend0/e']) await publish(a, name);
    expect(await countPending(a.db, 'io.github.pend')).toBe(2);
    expect(await countPending(b.db, 'IO.GITHUB.PEND')).toBe(2);
    expect(await countPending(a.db, 'io.github.pend-x')).toBe(1);
    expect(await countPending(a.db, 'io.github.pend0')).toBe(1);
    // The index, with the query's collation: a range in the database's own collation could not use it.
    // (A table this small is scanned whole unless told otherwise; one connection for both statements.)
    const client = await a.pool.connect();
    let plan: string;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      plan = (await client.query(`EXPLAIN SELECT count(*) FROM versions WHERE status = 'pending' AND lower(server) COLLATE "C" >= $1 AND lower(server) COLLATE "C" < $2`, ['a/', 'a0'])).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(plan).toMatch(/Index (Only )?Scan using versions_status_server_idx/);
    expect(plan).not.toMatch(/Filter/);
  });

  it('keeps versions immutable, decisions final and a tombstone for a deleted version', async () => {
    const v = await publish(a, 'io.github.acme/weather');
    await expect(raw("update versions set manifest = 'x' where id = $1", [v.id])).rejects.toThrow(/VERSION_IMMUTABLE/);
    await expect(raw("update versions set status = 'approved' where id = $1", [v.id])).rejects.toThrow(/AUDIT_REQUIRED/);
    await appendAudit(a.db, { actor: 'sec', action: 'version.revoke', subject: 'io.github.acme/weather@1.0.0' });
    await setVersionStatus(a.db, v.id, { status: 'revoked', revocationReason: 'bad', revokedBy: 'sec', revokedAt: at });
    await appendAudit(a.db, { actor: 'sec', action: 'version.approved', subject: 'io.github.acme/weather@1.0.0' });
    await expect(setVersionStatus(a.db, v.id, { status: 'approved' })).rejects.toThrow(/ALREADY_DECIDED/);
    expect((await versionOf(b.db, 'io.github.acme/weather', '1.0.0'))?.status).toBe('revoked');
    const other = await publish(a, 'io.github.acme/gone');
    await raw('delete from version_tools where version_id = $1', [other.id]);
    await raw('delete from versions where id = $1', [other.id]);
    await expect(publish(a, 'io.github.acme/gone')).rejects.toThrow(/VERSION_EXISTS/);
    await expect(raw("insert into servers (name, namespace, owner, created_at) values ('io.github.acme/Weather', 'io.github.acme', 'm', 'x')")).rejects.toThrow(/servers_name_lower_idx/);
  });

  it('stores the v0.1 server object text with the version, immutable once set, and fills it for rows stored before pg/0006 when an instance opens', async () => {
    const v = await publish(a, 'io.github.acme/server-json');
    const stored = async () => (await raw('select server_json from versions where id = $1', [v.id])).rows[0].server_json as string | null;
    expect(await stored()).toBe('{}');
    await expect(raw("update versions set server_json = '{\"x\":1}' where id = $1", [v.id])).rejects.toThrow(/VERSION_IMMUTABLE/);
    // As a row stored before pg/0006 (the guard out of the way for this): the next instance to open fills it, and it is then set.
    await raw('alter table versions disable trigger versions_guard');
    try {
      await raw('update versions set server_json = null where id = $1', [v.id]);
    } finally {
      await raw('alter table versions enable trigger versions_guard');
    }
    const c = await openPostgres(pgdb.url);
    try {
      expect(await stored()).toBe(serverJsonOf('{"tools":[{"name":"t"}]}'));
      await expect(raw("update versions set server_json = null where id = $1", [v.id])).rejects.toThrow(/VERSION_IMMUTABLE/);
    } finally {
      await c.close();
    }
  });

  it('keeps the audit chain append-only and approvals with their audit event', async () => {
    const v = await publish(a, 'io.github.acme/approved');
    const approval = { versionId: v.id, reviewer: 'alice', digest: `sha256:${'c'.repeat(64)}`, bundle: '{}', signerFingerprint: 'SHA256:a', createdAt: at };
    await expect(insertApproval(a.db, approval)).rejects.toThrow(/AUDIT_REQUIRED/);
    await a.db.transaction(async (tx) => {
      await appendAudit(tx, { actor: 'alice', action: 'version.approve', subject: 'io.github.acme/approved@1.0.0', details: { approval: approval.digest } });
      await insertApproval(tx, approval);
    });
    await expect(raw('delete from approvals')).rejects.toThrow(/APPROVAL_PERMANENT/);
    await expect(raw("update audit_events set actor = 'x'")).rejects.toThrow(/AUDIT_APPEND_ONLY/);
    await expect(raw('delete from audit_events')).rejects.toThrow(/AUDIT_APPEND_ONLY/);
    expect(await verifyAuditChain(b.db)).toMatchObject({ ok: true });
  });

  it('keeps one exact audit chain and log with writers on two instances at once', async () => {
    const before = (await auditTip(a.db)).seq;
    const size = await logSize(a.db);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).db.transaction(async (tx) => {
          await appendAudit(tx, { actor: 'w', action: 'token.create', subject: `t${i}` });
          await appendLogEntries(tx, [{ kind: 'manifest', subject: `s${i}`, form: 'sigil-event', body: Buffer.from(`e${i}`) }], at);
        }),
      ),
    );
    expect((await auditTip(b.db)).seq).toBe(before + 40);
    expect(await verifyAuditChain(a.db)).toMatchObject({ ok: true, events: before + 40 });
    const n = await logSize(b.db);
    expect(n).toBe(size + 40);
    const rows = await a.pool.query('select body from log_entries order by idx');
    const root = treeRoot(n, await logHashes(a.db, treeRootNodes(n)));
    expect(Buffer.from(root)).toEqual(Buffer.from(merkleTreeHash(rows.rows.map((r: { body: Buffer }) => hashLeaf(r.body)))));
    expect((await logEntriesForAny(b.db, ['s3', 's1'], ['manifest'])).map((r) => r.subject).sort()).toEqual(['s1', 's3']);
    await expect(raw('delete from log_entries')).rejects.toThrow(/LOG_APPEND_ONLY/);
  }, 60_000);

  it('keeps them exact with serializable writers too (the alternative scripts/bench/pg-writers.mjs measures), retrying refused ones', async () => {
    const [s1, s2] = await Promise.all([openPostgres(pgdb.url, { writes: 'serializable' }), openPostgres(pgdb.url, { writes: 'serializable' })]);
    try {
      const before = (await auditTip(a.db)).seq;
      const size = await logSize(a.db);
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? s1 : s2).db.transaction(async (tx) => {
            await appendAudit(tx, { actor: 'w', action: 'token.create', subject: `ser${i}` });
            await appendLogEntries(tx, [{ kind: 'manifest', subject: `ser${i}`, form: 'sigil-event', body: Buffer.from(`ser${i}`) }], at);
          }),
        ),
      );
      expect(await verifyAuditChain(a.db)).toMatchObject({ ok: true, events: before + 30 });
      const n = await logSize(a.db);
      expect(n).toBe(size + 30);
      const rows = await a.pool.query('select body from log_entries order by idx');
      expect(Buffer.from(treeRoot(n, await logHashes(a.db, treeRootNodes(n))))).toEqual(Buffer.from(merkleTreeHash(rows.rows.map((r: { body: Buffer }) => hashLeaf(r.body)))));
      // A refusal that is not a serialization conflict is not retried.
      let runs = 0;
      await expect(
        s1.db.transaction(async () => {
          runs++;
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(runs).toBe(1);
    } finally {
      await s1.close();
      await s2.close();
    }
  }, 60_000);

  it("reads bigints as numbers on its own connections, and leaves the pg driver's global parsers alone", async () => {
    expect(await a.raw.get('select count(*) as n, ?::bigint as big from audit_events where actor = ?', [2 ** 40, 'nobody'])).toEqual({ n: 0, big: 2 ** 40 });
    expect(await a.raw.all("select '?' as q, ? as p", ['x'])).toEqual([{ q: '?', p: 'x' }]);
    expect(pg.types.getTypeParser(pg.types.builtins.INT8, 'text')('7')).toBe('7');
    const other = new pg.Client({ connectionString: pgdb.url });
    await other.connect();
    try {
      expect((await other.query('select 7::bigint as n')).rows[0]).toEqual({ n: '7' });
    } finally {
      await other.end();
    }
  });

  it('keys rows past 2^31 (bigint identity columns, as SQLite integer keys are 64-bit)', async () => {
    await a.raw.run("select setval('versions_id_seq', 3000000000)");
    const v = await publish(a, 'io.github.acme/far');
    expect(v.id).toBe(3_000_000_001);
    expect((await versionOf(b.db, 'io.github.acme/far', '1.0.0'))?.id).toBe(3_000_000_001);
  });

  it('answers the short reads of one turn on pipelined connections, each with its own row, and replaces a connection the server ends', async () => {
    const o = await openPostgres(pgdb.url);
    try {
      const names = Array.from({ length: 40 }, (_, i) => `io.github.acme/pipe-${i}`);
      for (const name of names.slice(0, 20)) await publish(o, name);
      // The first reads open the connections (answered on the pool meanwhile).
      await awaitPipelined(o.db, names[0]!, 2);
      // Forty reads in one turn, half of versions that exist: each answer is its own.
      const read = await Promise.all(names.map((name) => readVersion(o.db, name, '1.0.0')));
      expect(read.map((r) => r?.server)).toEqual(names.map((name, i) => (i < 20 ? name : undefined)));
      const both = await Promise.all(names.slice(18, 22).map((name) => readVersionWithApprovals(o.db, name, '1.0.0')));
      expect(both.map((r) => r?.row.server)).toEqual([names[18], names[19], undefined, undefined]);
      // The hot reads read as text on a pipeline give what the driver's typed rows give on a transaction's connection.
      await ensurePrincipal(o.db, 'host', at);
      await insertToken(o.db, { id: 'tok-pipe', principal: 'host', secretHash: 'sha256:pipe', role: 'reader', namespaces: '[]', createdAt: at, createdBy: null, expiresAt: '2099-01-01T00:00:00.000Z' });
      const v = (await readVersion(o.db, names[3]!, '1.0.0'))!;
      for (const reviewer of ['bob', 'alice'])
        await o.db.transaction(async (tx) => {
          const approval = { versionId: v.id, reviewer, digest: `sha256:${reviewer[0]!.repeat(64)}`, bundle: '{"b":"\\"x\\""}', signerFingerprint: 'SHA256:r', createdAt: at };
          await appendAudit(tx, { actor: reviewer, action: 'version.approve', subject: `${names[3]}@1.0.0`, details: { approval: approval.digest } });
          await insertApproval(tx, approval);
        });
      await o.db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'alice', action: 'version.approved', subject: `${names[3]}@1.0.0` });
        await setVersionStatus(tx, v.id, { status: 'approved' });
      });
      expect((await readTokenAndApproved(o.db, 'sha256:pipe', names[3]!)).approved).toEqual([{ id: v.id, version: '1.0.0' }]);
      for (const [hash, name, version] of [['sha256:pipe', names[3]!, '1.0.0'], ['sha256:pipe', names[4]!, '1.0.0'], ['sha256:pipe', names[30]!, '1.0.0'], ['sha256:nobody', names[3]!, '1.0.0']] as const) {
        const pipelinedRead = await readTokenAndVersion(o.db, hash, name, version);
        expect(pipelinedRead).toEqual(await o.db.transaction(() => readTokenAndVersion(o.db, hash, name, version)));
        expect(await readTokenAndVersionText(o.db, hash, name, version)).toEqual(await o.db.transaction(() => readTokenAndVersionText(o.db, hash, name, version)));
        expect(await readTokenAndSummaries(o.db, hash, name)).toEqual(await o.db.transaction(() => readTokenAndSummaries(o.db, hash, name)));
        expect(await readTokenAndApproved(o.db, hash, name)).toEqual(await o.db.transaction(() => readTokenAndApproved(o.db, hash, name)));
      }
      for (const id of [v.id, v.id + 1, 999_999]) expect(await readVersionWithApprovalDigests(o.db, id)).toEqual(await o.db.transaction(() => readVersionWithApprovalDigests(o.db, id)));
      expect((await readVersionWithApprovalDigests(o.db, v.id))?.approvals.map((a) => a.digest)).toEqual([`sha256:${'b'.repeat(64)}`, `sha256:${'a'.repeat(64)}`]);
      const both3 = await readTokenAndVersion(o.db, 'sha256:pipe', names[3]!, '1.0.0');
      expect([typeof both3.found?.row.id, both3.found?.approvals.map((a) => a.reviewer), both3.found?.approvals[0]?.bundle, both3.token?.principal]).toEqual(['number', ['bob', 'alice'], '{"b":"\\"x\\""}', 'host']);
      // The GET versions of one turn in one statement: every question its own answer, one asked twice answered alike
      // to both, more than one statement's worth (64) in the turn, and names the array parameter must quote.
      const odd = 'io.github.acme/q"u\\o,t{e}';
      await publish(o, odd);
      const questions: Array<[string, string, string]> = [];
      for (let i = 0; i < 70; i++) questions.push([i % 3 ? 'sha256:pipe' : 'sha256:nobody', names[i % 25]!, i % 7 ? '1.0.0' : '2.0.0']);
      questions.push(['sha256:pipe', odd, '1.0.0'], ['sha256:pipe', names[3]!, '1.0.0'], ['sha256:pipe', names[3]!, '1.0.0']);
      const batched = await Promise.all(questions.map(([hash, name, version]) => readTokenAndVersionText(o.db, hash, name, version)));
      const alone = await o.db.transaction(async () => {
        const each = [];
        for (const [hash, name, version] of questions) each.push(await readTokenAndVersionText(o.db, hash, name, version));
        return each;
      });
      expect(batched).toEqual(alone);
      // The record's text parses as the stored row says (its approvals oldest first, their bundles as stored).
      const record = (r: (typeof batched)[number]) => r.found && (JSON.parse(`${r.found.head}${r.found.bundle}${r.found.tail}`) as { name: string; version: string; manifest: unknown; approvals: Array<{ reviewer: string; bundle: unknown }> });
      expect(batched.slice(-3).map((r) => [r.token?.principal, record(r)?.name, record(r)?.approvals.map((a) => a.reviewer)])).toEqual([['host', odd, []], ['host', names[3], ['bob', 'alice']], ['host', names[3], ['bob', 'alice']]]);
      expect([record(batched.at(-1)!)?.manifest, record(batched.at(-1)!)?.approvals[0]?.bundle]).toEqual([{ tools: [{ name: 't' }] }, { b: '"x"' }]);
      expect(batched.filter((r) => r.found).length).toBeGreaterThan(20);
      // The server escapes the record's strings as JSON.stringify does: quotes, backslashes, control characters as \u00xx, the rest as it is.
      const nasty = 'a "q" \\ b\nl\tt\r\b\f \u0001\u001f\u007f é ✓ 😀 \u2028 </script>';
      const rejected = await publish(o, 'io.github.acme/nasty');
      await o.db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'alice', action: 'version.reject', subject: 'io.github.acme/nasty@1.0.0' });
        await setVersionStatus(tx, rejected.id, { status: 'rejected', rejectionReason: nasty, rejectedBy: 'ali\u00e7e', rejectedAt: at });
      });
      const text = (await readTokenAndVersionText(o.db, 'sha256:pipe', 'io.github.acme/nasty', '1.0.0')).found!;
      expect(text.tail).toBe(`,"approvals":[],"rejection":${JSON.stringify({ reason: nasty, by: 'ali\u00e7e', at })}}`);
      // Inside a transaction a read through the database sees the transaction's own rows (its connection, not a pipeline).
      await o.db.transaction(async () => {
        await publish(o, 'io.github.acme/in-tx');
        expect((await readVersion(o.db, 'io.github.acme/in-tx', '1.0.0'))?.server).toBe('io.github.acme/in-tx');
      });
      // The server ends both pipelined connections: reads in flight may fail, later ones are answered.
      await raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2', [pgdb.name, PIPELINED_READS]);
      for (let i = 0; ; i++) {
        expect(i).toBeLessThan(200);
        const r = await readVersion(o.db, names[1]!, '1.0.0').catch(() => undefined);
        if (r && (await pipelined()) === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((await readVersion(o.db, names[2]!, '1.0.0'))?.server).toBe(names[2]);
    } finally {
      await o.close();
    }
    // Closed with the pool.
    expect(await pipelined()).toBe(0);
  }, 60_000);

  it('ends a pipelined connection whose read goes unanswered, and reads on a new one', async () => {
    const o = await openPostgres(pgdb.url, { pipelines: 1, pipelinedReadTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: pgdb.url });
    await locker.connect();
    try {
      await publish(o, 'io.github.acme/stuck');
      await awaitPipelined(o.db, 'io.github.acme/stuck', 1);
      // Another session holds the table: the pipelined read waits unanswered, then fails (never hangs).
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE versions IN ACCESS EXCLUSIVE MODE');
      await expect(readVersion(o.db, 'io.github.acme/stuck', '1.0.0')).rejects.toThrow(/timeout/i);
      await locker.query('COMMIT');
      for (let i = 0; ; i++) {
        expect(i).toBeLessThan(300);
        const r = await readVersion(o.db, 'io.github.acme/stuck', '1.0.0').catch(() => undefined);
        if (r && (await pipelined()) === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((await readVersion(o.db, 'io.github.acme/stuck', '1.0.0'))?.server).toBe('io.github.acme/stuck');
    } finally {
      await locker.end();
      await o.close();
    }
  }, 60_000);
  it('keeps a GET version answer while the snapshot stays, and reads a write of another instance, committed or not, as a fresh statement would', async () => {
    const o = await openPostgres(pgdb.url);
    try {
      const name = 'io.github.acme/kept';
      const v = await publish(o, name);
      await ensurePrincipal(o.db, 'host', at);
      await insertToken(o.db, { id: 'tok-kept', principal: 'host', secretHash: 'sha256:kept', role: 'reader', namespaces: '[]', createdAt: at, createdBy: null, expiresAt: '2099-01-01T00:00:00.000Z' });
      await awaitPipelined(o.db, name, 2);
      const ask = () => readTokenAndVersionText(o.db, 'sha256:kept', name, '1.0.0');
      // Kept: two asks in a row give the same object. The snapshot is the whole server's, so a
      // test writing in another database meanwhile moves it; a few tries find a quiet moment.
      const keptAgain = async () => {
        for (let i = 0; i < 50; i++) {
          const one = await ask();
          if ((await ask()) === one) return one;
        }
        throw new Error('never kept');
      };
      const first = await keptAgain();
      expect(first.found?.head).toContain('"status":"pending"');
      // Another instance (b) revokes the token in a transaction left open: unseen, as by any statement now.
      const other = await b.pool.connect();
      try {
        await other.query('BEGIN');
        await other.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2', [at, 'tok-kept']);
        expect((await ask()).token?.revokedAt).toBeNull();
        await other.query('COMMIT');
      } finally {
        other.release();
      }
      // Committed: the next ask reads it, and keeps that.
      const revoked = await ask();
      expect(revoked.token?.revokedAt).toBe(at);
      expect((await keptAgain()).token?.revokedAt).toBe(at);
      // The version approved through the other instance: read at once.
      await b.db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'alice', action: 'version.approved', subject: `${name}@1.0.0` });
        await setVersionStatus(tx, v.id, { status: 'approved' });
      });
      expect((await ask()).found?.head).toContain('"status":"approved"');
      // An unknown token is never kept.
      const unknown = await readTokenAndVersionText(o.db, 'sha256:nobody', name, '1.0.0');
      expect(await readTokenAndVersionText(o.db, 'sha256:nobody', name, '1.0.0')).not.toBe(unknown);
    } finally {
      await o.close();
    }
  });

  it('plans the array reads of a pipelined connection once, not at every batch', async () => {
    const o = await openPostgres(pgdb.url, { pipelines: 1 });
    try {
      await publish(o, 'io.github.acme/planned');
      await awaitPipelined(o.db, 'io.github.acme/planned', 1);
      // One question per turn: the custom plan of a one-element array looks cheaper than the
      // generic one, so the default plan cache mode would plan every one of these again.
      for (let i = 0; i < 8; i++) {
        expect((await readTokenAndVersionText(o.db, 'no-such-token', 'io.github.acme/planned', '1.0.0')).found).toBeTruthy();
        expect((await readStatusSnapshot(o.db, [['io.github.acme/planned', '1.0.0']])).versions.get('io.github.acme/planned')?.get('1.0.0')?.status).toBe('pending');
      }
      const client = (o.db as unknown as { pipelined(): PgQueryable | undefined }).pipelined();
      expect(client).toBeDefined();
      const plans = await client!.query({
        name: 'test_plans',
        text: "SELECT name, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name IN ('sigil_read_token_and_version_text_batch', 'sigil_status_snapshot') ORDER BY name",
        values: [],
      });
      // Most reads went on this connection (one may have gone to the pool while it was corked by another).
      const rows = plans.rows as Array<{ name: string; generic: number; custom: number }>;
      expect(rows.map((r) => r.name)).toEqual(['sigil_read_token_and_version_text_batch', 'sigil_status_snapshot']);
      for (const r of rows) {
        expect(r.custom).toBe(0);
        expect(r.generic).toBeGreaterThanOrEqual(6);
      }
      // The plan kept is a nested loop of lookups by index, as the custom plans were, even on
      // this new, small table: not a hash of the questions, nor a scan of versions per question.
      const plan = await client!.query({
        name: 'test_plan',
        text: "EXPLAIN EXECUTE sigil_read_token_and_version_text_batch('{no-such-token}', '{io.github.acme/planned}', '{1.0.0}')",
        values: [],
      });
      const text = (plan.rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/^Nested Loop/);
      expect(text).toMatch(/Index Scan using versions_\w+ on versions v/);
      expect(text).not.toMatch(/Hash|Merge|Seq Scan/);
    } finally {
      await o.close();
    }
  }, 60_000);
});
