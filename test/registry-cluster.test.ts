import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestDigest, type Manifest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement, type KeyPair } from '@sigil/signing/sign';
import { createTestDatabase, repoRoot, runProcess, startRegistry, weatherManifest, type RegistryProcess, type TestDatabase } from '@sigil/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

// Three real registry processes on one fresh PostgreSQL database, each with a data directory of
// its own and all given the same key files (made once with `sigil-registry keys init`), behind a small round-robin balancer written here
// (node:http): it health-checks `/readyz`, skips an instance that is down, and retries a request
// on the next instance when the connection was refused (nothing was sent) or when the request is
// a read; a write whose instance died after it was sent is answered 502, as nginx and Caddy do
// for non-idempotent requests. Concurrent writes spread over the instances end with exactly the
// expected rows; a host resolves through the balancer; one instance killed with SIGKILL in the
// middle of a burst loses no acknowledged write and leaves no half-written one.
const dir = mkdtempSync(join(tmpdir(), 'sigil-cluster-'));
const path = (name: string) => join(dir, name);
const ENV: Record<string, string> = { SIGIL_LOG_CHECKPOINT_MS: '200', SIGIL_RATE_LIMIT_TOKEN: '1000000', SIGIL_RATE_LIMIT_ADDRESS: '1000000', SIGIL_PENDING_LIMIT: '100000' };
const SERVERS = ['io.github.acme/alpha', 'io.github.acme/bravo', 'io.github.acme/charlie'];
let pgdb: TestDatabase;
let sql: pg.Client;
const instances: RegistryProcess[] = [];
let balancer: Balancer;
const publisherKey: KeyPair = generateKeyPair();
const reviewerKeys: Record<string, KeyPair> = { alice: generateKeyPair(), bob: generateKeyPair() };
const tokens: Record<string, string> = {};

interface Backend {
  url: string;
  healthy: boolean;
  /** Requests forwarded to it, and those still waiting for its answer. */
  routed: number;
  inFlight: number;
}
interface Balancer {
  url: string;
  backends: Backend[];
  close(): Promise<void>;
}

/** A round-robin HTTP balancer over `urls`, checking `/readyz` every 100 ms. */
async function startBalancer(urls: string[]): Promise<Balancer> {
  const backends: Backend[] = urls.map((url) => ({ url, healthy: true, routed: 0, inFlight: 0 }));
  let next = 0;
  const check = async (b: Backend) => {
    b.healthy = await fetch(`${b.url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  };
  const timer = setInterval(() => void Promise.all(backends.map(check)), 100);
  type Answer = { status: number; headers: IncomingHttpHeaders; body: Buffer };
  const forward = (b: Backend, method: string, url: string, headers: IncomingHttpHeaders, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const target = new URL(b.url);
      b.routed++;
      b.inFlight++;
      const done = () => b.inFlight--;
      // No keep-alive to the instances: a pooled socket to a killed instance would fail a write
      // that was never delivered, which the balancer could not tell from one that was.
      const req = httpRequest({ host: target.hostname, port: target.port, method, path: url, headers: { ...headers, host: target.host, connection: 'close' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (e) => {
          done();
          reject(e);
        });
      });
      req.on('error', (e) => {
        done();
        reject(e);
      });
      req.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const start = next++;
      const order = backends.map((_, i) => backends[(start + i) % backends.length]!).filter((b) => b.healthy);
      const safe = req.method === 'GET' || req.method === 'HEAD';
      for (const b of order) {
        try {
          const answer = await forward(b, req.method!, req.url!, req.headers, body);
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          delete headers.connection;
          res.writeHead(answer.status, { ...headers, 'content-length': answer.body.length });
          res.end(answer.body);
          return;
        } catch (e) {
          b.healthy = false;
          // Refused: the instance never saw the request, so any request may go elsewhere.
          if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' || safe) continue;
          res.writeHead(502, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ code: 'BAD_GATEWAY', detail: 'the instance failed before it answered' }));
          return;
        }
      }
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ code: 'NO_INSTANCE', detail: 'no instance is ready' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    backends,
    close: () => {
      clearInterval(timer);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One request through the balancer (or an instance): its status and JSON body; a failed connection is status 0. */
async function call(method: string, route: string, body?: unknown, token = tokens.admin!, base = balancer.url): Promise<{ status: number; json: Record<string, unknown> }> {
  try {
    const res = await fetch(`${base}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  } catch {
    return { status: 0, json: {} };
  }
}
async function must(method: string, route: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
  const r = await call(method, route, body, token);
  if (r.status >= 300 || r.status === 0) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** A read-only manifest of `name`, with tool names of its own (a tool another approved server exposes would make it high-risk). */
function manifestOf(name: string, version: string, description?: string): Manifest {
  const m = weatherManifest({ name, version, ...(description ? { description } : {}) });
  m.tools = m.tools.map((t) => ({ ...t, name: `${t.name}_${name.split('/')[1]}` }));
  return m;
}
const publisherSigner = createSigner({ privateKey: publisherKey.privateKeyPem });
async function publishBody(m: Manifest): Promise<unknown> {
  return { manifest: m, bundle: await signManifestStatement(m, publisherSigner) };
}
async function approvalBody(m: Manifest, reviewer: string): Promise<unknown> {
  const bundle = await signApprovalStatement({ name: m.name, version: m.version, digest: manifestDigest(m) }, { decision: 'approved', reviewer, risk: 'low' }, createSigner({ privateKey: reviewerKeys[reviewer]!.privateKeyPem }));
  return { bundle };
}
const versionRoute = (name: string, version: string) => `/v1/servers/${name}/versions/${version}`;

/** Rows as the database holds them, read directly (not through any instance). */
async function versionRows(): Promise<Map<string, { digest: string; status: string }>> {
  const { rows } = await sql.query<{ server: string; version: string; digest: string; status: string }>('select server, version, digest, status from versions');
  return new Map(rows.map((r) => [`${r.server}@${r.version}`, { digest: r.digest, status: r.status }]));
}
async function count(text: string, params: unknown[] = []): Promise<number> {
  return (await sql.query<{ n: number }>(`select count(*)::int as n from (${text}) t`, params)).rows[0]!.n;
}

/**
 * Every write is whole: each version row has exactly one publish event in the audit chain and
 * its log entries; each approval its approve event; each revoked version its revoke event; and no
 * event names a version that is not stored.
 */
async function expectNothingHalfWritten(): Promise<void> {
  expect(await count(`select v.id from versions v where (select count(*) from audit_events a where a.action = 'version.publish' and a.subject = v.server || '@' || v.version) <> 1`)).toBe(0);
  expect(await count(`select v.id from versions v where not exists (select 1 from log_entries l where l.subject = v.server || '@' || v.version)`)).toBe(0);
  expect(await count(`select a.seq from audit_events a where a.action like 'version.%' and not exists (select 1 from versions v where v.server || '@' || v.version = a.subject)`)).toBe(0);
  expect(await count(`select v.id from versions v where (select count(*) from approvals p where p.version_id = v.id) <> (select count(*) from audit_events a where a.action = 'version.approve' and a.subject = v.server || '@' || v.version)`)).toBe(0);
  expect(await count(`select v.id from versions v where (v.status = 'revoked') <> exists (select 1 from audit_events a where a.action = 'version.revoke' and a.subject = v.server || '@' || v.version)`)).toBe(0);
  expect(await count(`select v.id from versions v where (v.status = 'approved' or v.status = 'revoked' and exists (select 1 from approvals p where p.version_id = v.id)) <> exists (select 1 from audit_events a where a.action = 'version.approved' and a.subject = v.server || '@' || v.version)`)).toBe(0);
}

/** `GET /v1/audit/verify` on every live instance and through the balancer: the whole chain holds. */
async function expectAuditVerifies(): Promise<void> {
  const heads = new Set<string>();
  const { rows } = await sql.query<{ seq: number; hash: string }>('select seq, hash from audit_events order by seq desc limit 1');
  for (const base of [...instances.filter((r) => r.child.exitCode === null && r.child.signalCode === null).map((r) => r.url), balancer.url]) {
    const r = await call('GET', `/v1/audit/verify?seq=${rows[0]!.seq}&hash=${rows[0]!.hash}`, undefined, tokens.admin, base);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.ok, JSON.stringify(r.json)).toBe(true);
    heads.add(JSON.stringify(r.json));
  }
  // Every instance reports the same chain.
  expect(heads.size).toBe(1);
}

/** Waits until every live instance serves the same newest checkpoint, covering every log entry, and returns its text. */
async function settledCheckpoint(): Promise<string> {
  const live = () => instances.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  for (let tries = 0; ; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const texts = await Promise.all(live().map(async (r) => (await fetch(`${r.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${tokens.reader}` } })).text()));
    const entries = await count('select idx from log_entries');
    if (new Set(texts).size === 1 && Number(texts[0]!.split('\n')[1]) === entries) return texts[0]!;
    if (tries > 100) throw new Error(`the checkpoints did not settle: ${texts.map((t) => t.split('\n')[1]).join(', ')} of ${entries} entries`);
  }
}

async function sigilOk(args: string[], token: string, cwd?: string): Promise<string> {
  const run = await sigilInProcess(args, { ...(cwd ? { cwd } : {}), env: { SIGIL_REGISTRY: balancer.url, SIGIL_TOKEN: token } });
  if (run.code !== 0) throw new Error(`sigil ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

beforeAll(async () => {
  pgdb = await createTestDatabase('sigil_cluster');
  sql = new pg.Client({ connectionString: pgdb.url });
  // The keys are made once, offline, and every instance is given the same files, as a
  // deployment mounts one secret into each. The three start together on the empty database: the
  // migration lock lets one of them apply the migrations.
  const made = await runProcess(process.execPath, [join(repoRoot(), 'apps/registry/bin/sigil-registry.js'), 'keys', 'init', path('keys')]);
  if (made.code !== 0) throw new Error(`keys init: ${made.stderr}`);
  Object.assign(ENV, {
    SIGIL_DATABASE_URL: pgdb.url,
    SIGIL_STATUS_KEY_FILE: path('keys/status.key'),
    SIGIL_LOG_KEY_FILE: path('keys/log.key'),
    SIGIL_TSA_KEY_FILE: path('keys/tsa/tsa.key'),
    SIGIL_TSA_CHAIN_FILE: path('keys/tsa/chain.pem'),
  });
  instances.push(...(await Promise.all([0, 1, 2].map((i) => startRegistry({ dataDir: path(`registry-${i}`), env: ENV })))));
  await sql.connect();
  balancer = await startBalancer(instances.map((r) => r.url));
  tokens.admin = instances[0]!.adminToken;
  // Setup through the balancer, so it lands on every instance in turn.
  await must('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  for (const [name, key] of Object.entries(reviewerKeys)) await must('POST', '/v1/reviewers', { principal: name, publicKey: key.publicKeyPem });
  tokens.publisher = (await must('POST', '/v1/tokens', { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'], ttlSeconds: 7200 })).token as string;
  for (const name of Object.keys(reviewerKeys)) tokens[name] = (await must('POST', '/v1/tokens', { principal: name, role: 'security', ttlSeconds: 7200 })).token as string;
  tokens.reader = (await must('POST', '/v1/tokens', { principal: 'host', role: 'reader', ttlSeconds: 7200 })).token as string;
}, 180_000);
afterAll(async () => {
  await balancer?.close();
  await Promise.all(instances.map((r) => r.stop()));
  await sql?.end().catch(() => undefined);
  await pgdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('three registry instances on one PostgreSQL behind a round-robin balancer', () => {
  it('ends concurrent publishes, approvals and revocations spread over the instances with exactly the expected rows', async () => {
    for (const r of instances) expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    // The keys are the same on every instance: hosts see one registry.
    const keys = await Promise.all(instances.map(async (r) => (await fetch(`${r.url}/v1/keys`)).text()));
    expect(new Set(keys).size).toBe(1);
    expect((JSON.parse(keys[0]!) as { keys: Array<{ publicKey: string }> }).keys[0]!.publicKey.trim()).toBe(readFileSync(path('keys/status.pub'), 'utf8').trim());
    const auditBefore = await count('select seq from audit_events');

    // Four versions of three servers, each published twice at once (the pair lands on two
    // instances), and one version published at once with two different contents.
    const manifests = SERVERS.flatMap((name) => ['1.0.0', '1.0.1', '1.0.2', '1.0.3'].map((v) => manifestOf(name, v)));
    const bodies = await Promise.all(manifests.map(publishBody));
    const conflict = await Promise.all([manifestOf('io.github.acme/delta', '1.0.0'), manifestOf('io.github.acme/delta', '1.0.0', 'Another description')].map(publishBody));
    const published = await Promise.all([...bodies.flatMap((b) => [b, b]), ...conflict].map((b) => call('POST', '/v1/publish', b, tokens.publisher)));
    for (let i = 0; i < manifests.length; i++) {
      const pair = [published[2 * i]!, published[2 * i + 1]!].map((r) => r.status).sort();
      expect(pair, `${manifests[i]!.name}@${manifests[i]!.version}: ${JSON.stringify(published[2 * i]!.json)}`).toEqual([200, 201]);
    }
    const conflicting = published.slice(-2);
    expect(conflicting.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(conflicting.find((r) => r.status === 409)!.json.code).toBe('VERSION_EXISTS');

    // Approvals of 1.0.0-1.0.2 of every server, two reviewers racing on each 1.0.0 (one counts,
    // the other finds it decided); then every 1.0.0 revoked, twice at once.
    const approve = (m: Manifest, who: string) => approvalBody(m, who).then((b) => call('POST', `${versionRoute(m.name, m.version)}/approvals`, b, tokens[who]));
    const toApprove = manifests.filter((m) => m.version !== '1.0.3');
    const approvals = await Promise.all([...toApprove.map((m) => approve(m, 'alice')), ...toApprove.filter((m) => m.version === '1.0.0').map((m) => approve(m, 'bob'))]);
    const firsts = approvals.slice(0, toApprove.length);
    const races = approvals.slice(toApprove.length);
    for (const r of firsts.filter((_, i) => toApprove[i]!.version !== '1.0.0')) expect(r.status, JSON.stringify(r.json)).toBe(201);
    const raced = toApprove.filter((m) => m.version === '1.0.0');
    raced.forEach((_, i) => {
      const pair = [firsts[toApprove.indexOf(raced[i]!)]!, races[i]!];
      expect(pair.map((r) => r.status).sort(), JSON.stringify(pair.map((r) => r.json))).toEqual([201, 409]);
      expect(pair.find((r) => r.status === 409)!.json.code).toBe('ALREADY_DECIDED');
    });
    const revocations = await Promise.all(raced.flatMap((m) => [0, 1].map(() => call('POST', `${versionRoute(m.name, m.version)}/revocations`, { reason: 'key leaked' }, tokens.alice))));
    for (let i = 0; i < raced.length; i++) {
      const pair = [revocations[2 * i]!, revocations[2 * i + 1]!];
      expect(pair.map((r) => r.status).sort(), JSON.stringify(pair.map((r) => r.json))).toEqual([201, 409]);
      expect(pair.find((r) => r.status === 409)!.json.code).toBe('ALREADY_DECIDED');
    }

    // Exactly the expected rows, read directly and through the API.
    const expected = new Map(manifests.map((m) => [`${m.name}@${m.version}`, { digest: manifestDigest(m), status: { '1.0.0': 'revoked', '1.0.1': 'approved', '1.0.2': 'approved', '1.0.3': 'pending' }[m.version]! }]));
    const rows = await versionRows();
    const delta = rows.get('io.github.acme/delta@1.0.0');
    expect(delta?.status).toBe('pending');
    rows.delete('io.github.acme/delta@1.0.0');
    expect(rows).toEqual(expected);
    expect(await count('select id from approvals')).toBe(toApprove.length);
    // Audit: 13 publishes, 9 approvals each with its "approved" event, 3 revocations.
    expect((await count('select seq from audit_events')) - auditBefore).toBe(13 + 2 * toApprove.length + raced.length);
    await expectNothingHalfWritten();
    for (const m of manifests) {
      const r = await call('GET', versionRoute(m.name, m.version), undefined, tokens.reader);
      expect(r.status).toBe(200);
      expect([r.json.digest, r.json.status]).toEqual([expected.get(`${m.name}@${m.version}`)!.digest, expected.get(`${m.name}@${m.version}`)!.status]);
    }
    // Every instance served some of it.
    for (const b of balancer.backends) expect(b.routed).toBeGreaterThan(5);

    await expectAuditVerifies();
    // One transparency log: once settled, every instance serves the same checkpoint, covering
    // every entry, and `sigil log verify` re-derives its root from the entries (through the balancer).
    const checkpoint = await settledCheckpoint();
    expect(checkpoint.split('\n')[0]).toBe('localhost');
    await sigilOk(['log', 'verify'], tokens.reader!);
  }, 180_000);

  it('lets a host lock and resolve through the balancer, whichever instance answers', async () => {
    writeFileSync(path('publisher.pub'), publisherKey.publicKeyPem);
    for (const [name, key] of Object.entries(reviewerKeys)) writeFileSync(path(`${name}.pub`), key.publicKeyPem);
    const h = path('host');
    await sigilOk(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.pub')}`, '--reviewer', path('alice.pub'), '--reviewer', path('bob.pub')], tokens.reader!);
    await sigilOk(['lock', 'io.github.acme/alpha@1.0.1', 'io.github.acme/bravo@1.0.2'], tokens.reader!, h);
    // (Either reviewer may have approved a raced 1.0.0: the host trusts both.)
    // Each resolve fetches the records and a fresh signed status: three in a row land on all three instances.
    const before = balancer.backends.map((b) => b.routed);
    for (let i = 0; i < 3; i++) await sigilOk(['resolve'], tokens.reader!, h);
    balancer.backends.forEach((b, i) => expect(b.routed).toBeGreaterThan(before[i]!));
    const revoked = await sigilInProcess(['lock', 'io.github.acme/charlie@1.0.0', '--json'], { cwd: h, env: { SIGIL_REGISTRY: balancer.url, SIGIL_TOKEN: tokens.reader! } });
    expect(revoked.code, revoked.stderr).toBe(1);
    expect((JSON.parse(revoked.stdout) as { error: { code: string } }).error.code).toBe('REVOKED');
  }, 120_000);

  it('signs what an instance appended and never signed (killed before its interval ended) from another instance, idle, within an interval', async () => {
    // A fourth instance on the same database whose checkpoints wait ten minutes after its first.
    const late = await startRegistry({ dataDir: path('registry-late'), env: { ...ENV, SIGIL_LOG_CHECKPOINT_MS: '600000' } });
    try {
      for (const version of ['5.0.0', '5.0.1']) {
        const r = await fetch(`${late.url}/v1/publish`, { method: 'POST', headers: { authorization: `Bearer ${tokens.publisher}`, 'content-type': 'application/json' }, body: JSON.stringify(await publishBody(manifestOf(SERVERS[0]!, version))) });
        expect(r.status).toBe(201);
      }
    } finally {
      await late.stop('SIGKILL');
    }
    const newest = Number((await sql.query<{ n: number }>('select max(size) as n from log_checkpoints')).rows[0]!.n);
    expect(newest).toBeLessThan(await count('select idx from log_entries'));
    // Nothing is written meanwhile: the three others, idle, sign it all the same.
    await settledCheckpoint();
  }, 60_000);

  it('loses no acknowledged write when an instance is killed with SIGKILL in the middle of a burst', async () => {
    const victim = instances[1]!;
    const victimBackend = balancer.backends[1]!;
    // The burst: 36 new versions and the approvals of the three pending 1.0.3s, six at a time.
    type Write = { kind: 'publish' | 'approve'; m: Manifest; body: unknown; status?: number };
    const writes: Write[] = [];
    for (let i = 0; i < 12; i++) for (const name of SERVERS) writes.push({ kind: 'publish', m: manifestOf(name, `2.0.${i}`), body: undefined });
    for (const name of SERVERS) writes.splice(6 + 10 * SERVERS.indexOf(name), 0, { kind: 'approve', m: manifestOf(name, '1.0.3'), body: undefined });
    await Promise.all(writes.map(async (w) => (w.body = w.kind === 'publish' ? await publishBody(w.m) : await approvalBody(w.m, 'bob'))));
    const send = (w: Write) => (w.kind === 'publish' ? call('POST', '/v1/publish', w.body, tokens.publisher) : call('POST', `${versionRoute(w.m.name, w.m.version)}/approvals`, w.body, tokens.bob));
    let acknowledged = 0;
    let killedAt = -1;
    let cursor = 0;
    // Kill once some writes are acknowledged and the victim is working on one.
    const killer = (async () => {
      while (!(acknowledged >= 6 && victimBackend.inFlight > 0)) {
        if (cursor >= writes.length) throw new Error('the burst ended before the victim had a request in flight');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      killedAt = acknowledged;
      victim.child.kill('SIGKILL');
    })();
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (cursor < writes.length) {
          const w = writes[cursor++]!;
          const r = await send(w);
          w.status = r.status;
          if (r.status >= 200 && r.status < 300) acknowledged++;
        }
      }),
    );
    await killer;
    expect(killedAt).toBeGreaterThanOrEqual(6);
    expect(victim.child.signalCode ?? (await new Promise((resolve) => victim.child.once('exit', (_code, signal) => resolve(signal))))).toBe('SIGKILL');

    const acked = writes.filter((w) => w.status! >= 200 && w.status! < 300);
    const unacked = writes.filter((w) => !(w.status! >= 200 && w.status! < 300));
    // Only the write the victim was holding (and any others in flight on it) can fail: as a 502.
    for (const w of unacked) expect(w.status).toBe(502);
    expect(acked.length).toBeGreaterThanOrEqual(writes.length - 6);

    // Every acknowledged write is stored, read directly and through the balancer.
    const rows = await versionRows();
    for (const w of acked) {
      const row = rows.get(`${w.m.name}@${w.m.version}`);
      expect(row?.digest).toBe(manifestDigest(w.m));
      if (w.kind === 'approve') expect(row?.status).toBe('approved');
      const r = await call('GET', versionRoute(w.m.name, w.m.version), undefined, tokens.reader);
      expect([r.status, r.json.digest]).toEqual([200, manifestDigest(w.m)]);
    }
    // Nothing is half-written, and each unacknowledged write is either wholly there or wholly
    // absent: sent again, it is answered as a replay or stored now, never refused as a conflict.
    await expectNothingHalfWritten();
    for (const w of unacked) {
      const row = rows.get(`${w.m.name}@${w.m.version}`);
      const again = await send(w);
      if (w.kind === 'publish') expect(again.status, JSON.stringify(again.json)).toBe(row ? 200 : 201);
      else if (row?.status === 'approved') expect([again.status, again.json.code]).toEqual([409, 'ALREADY_DECIDED']);
      else expect(again.status, JSON.stringify(again.json)).toBe(201);
    }
    await expectNothingHalfWritten();
    expect(await count(`select id from versions where version like '2.0.%'`)).toBe(36);
    expect(await count(`select id from versions where version = '1.0.3' and status = 'approved'`)).toBe(3);

    // The balancer's health check has taken the dead instance out: reads and writes all go to
    // the two live ones.
    expect(victimBackend.healthy).toBe(false);
    const routed = victimBackend.routed;
    for (let i = 0; i < 9; i++) expect((await call('GET', versionRoute('io.github.acme/alpha', '2.0.0'), undefined, tokens.reader)).status).toBe(200);
    expect(victimBackend.routed).toBe(routed);
    await expectAuditVerifies();
    await settledCheckpoint();
    await sigilOk(['log', 'verify'], tokens.reader!);

    // Restarted on the same port and keys, it passes /readyz again and the balancer sends it work.
    instances[1] = await startRegistry({ dataDir: victim.dataDir, env: ENV, port: Number(new URL(victim.url).port) });
    for (let i = 0; !victimBackend.healthy; i++) {
      if (i > 100) throw new Error('the restarted instance was not taken back');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 0; i < 6; i++) expect((await call('GET', versionRoute('io.github.acme/bravo', '2.0.11'), undefined, tokens.reader)).status).toBe(200);
    expect(victimBackend.routed).toBeGreaterThan(routed);
    await expectAuditVerifies();
  }, 240_000);
});
