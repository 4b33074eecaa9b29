import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogProofsResponse } from '@sigil/manifest';
import Database from 'better-sqlite3';
import { HostTrustStore, loadPolicy, type ResolveErrorCode } from '@sigil/resolver';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileRelay, type HostileRelay, type RelayMode } from './host-relay.js';
import { acmeWorld, codeOf } from './acme-world.js';

// The host's transparency-log checks (issue 15) against the real registry process, through the
// shared hostile relay: each refusal once through the library API (HostTrustStore) and once
// through `sigil resolve`. The forked and shrunk logs are real: a second registry process
// started from a copy of the first one's data directory (same log key), which the relay serves
// the log from while the records and the status still come from the genuine registry.
let registry: RegistryProcess;
let fork: RegistryProcess;
let relay: HostileRelay;
const world = acmeWorld('sigil-host-log-', () => registry);
const { path, tokens, sigil, ok } = world;
const WEATHER = 'io.github.acme/weather';
const ENV = { SIGIL_LOG_CHECKPOINT_MS: '200' };

/** Runs `sigil` through the relay and returns its refusal code (it must exit 1). */
async function refusedVia(args: string[], cwd: string): Promise<string> {
  const run = await sigil([...args, '--json'], tokens.reader!, { cwd, registryUrl: relay.url });
  expect(run.code, run.stderr + run.stdout).toBe(1);
  return (JSON.parse(run.stdout) as { error: { code: string } }).error.code;
}
async function publish(on: RegistryProcess, version: string, approvers: string[] = [], name = WEATHER): Promise<void> {
  const manifest = weatherManifest({ name, version });
  // Other servers get tool names of their own: a tool name another approved server exposes is a
  // lint warning (tool-shadowing), which makes a version high-risk.
  if (name !== WEATHER) manifest.tools = manifest.tools.map((t) => ({ ...t, name: `${t.name}_${name.slice(-6)}` }));
  await world.publish(manifest, approvers, on.url);
  // The proof API answers once a checkpoint covers the entry: the log's size is settled after it.
  expect((await fetch(`${on.url}/v1/log/proof?leaf=${name}@${version}`, { headers: { authorization: `Bearer ${tokens.reader}` } })).status).toBe(200);
}
/** The size of a registry's newest signed checkpoint (its second line). */
async function logSize(on: RegistryProcess): Promise<number> {
  const text = await (await fetch(`${on.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${tokens.reader}` } })).text();
  return Number(text.split('\n')[1]);
}
/** The size once a write's checkpoint (and its audit-head entry) is signed: two equal reads in a row. */
async function settledSize(on: RegistryProcess): Promise<number> {
  for (let last = -1; ; ) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const size = await logSize(on);
    if (size === last) return size;
    last = size;
  }
}
/**
 * Two trees of one size (another root each, past the fork point): writes to the smaller log of
 * a filler server until the sizes meet. A publish adds two signature entries and a rejection one
 * event, each with the audit-head entry of its checkpoint, so the gap closes by threes and twos
 * (a rejection when the gap is 2 or 4); the sizes are read again after every write.
 */
async function sameSize(a: RegistryProcess, b: RegistryProcess): Promise<void> {
  const filler = 'io.github.acme/filler';
  const pending = new Map<RegistryProcess, string[]>([[a, []], [b, []]]);
  let n = 0;
  const write = async (on: RegistryProcess, reject: boolean) => {
    const waiting = pending.get(on)!;
    if (reject && waiting.length > 0) {
      await ok(['review', 'reject', `${filler}@${waiting.shift()}`, '--reason', 'filler'], tokens.alice!, { registryUrl: on.url });
    } else {
      const version = `9.0.${n++}`;
      await publish(on, version, [], filler);
      waiting.push(version);
    }
  };
  // A pending filler version on each side first, for the rejections.
  await write(a, false);
  await write(b, false);
  for (let round = 0; round < 30; round++) {
    const [sa, sb] = [await settledSize(a), await settledSize(b)];
    if (sa === sb) return;
    const gap = Math.abs(sa - sb);
    await write(sa < sb ? a : b, gap === 2 || gap === 4);
  }
  throw new Error('the two logs never reached one size');
}
/** A host directory whose policy pins the registry (its trusted root lists the log) but reaches it through the relay. */
async function host(name: string): Promise<string> {
  const h = path(name);
  await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub')], tokens.reader!, { registryUrl: relay.url });
  return h;
}
async function store(h: string): Promise<HostTrustStore> {
  return new HostTrustStore({ policy: await loadPolicy(join(h, 'sigil.policy.json')), lockfile: join(h, 'sigil.lock.json'), token: tokens.reader!, limits: { timeoutMs: 5000 } });
}
/** Library and CLI under the same relay mode: both must refuse with `code`, and the host's stored checkpoint stays as it was. */
async function refusedBoth(h: string, mode: RelayMode, code: ResolveErrorCode, args: string[] = ['resolve']): Promise<void> {
  const stored = readFileSync(join(h, '.sigil-cache', 'checkpoint'), 'utf8');
  relay.mode = mode;
  try {
    expect(await codeOf((await store(h)).resolve())).toBe(code);
    expect(await refusedVia(args, h)).toBe(code);
  } finally {
    relay.mode = { kind: 'forward' };
  }
  expect(readFileSync(join(h, '.sigil-cache', 'checkpoint'), 'utf8')).toBe(stored);
}
const proofsOf = (rewrite: (answer: LogProofsResponse) => LogProofsResponse): RelayMode => ({ kind: 'rewrite', path: /^\/v1\/log\/proofs$/, rewrite: (json) => rewrite(json as LogProofsResponse) });

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('registry'), env: ENV });
  relay = await startHostileRelay(registry.url);
  await world.provision(['alice']);
  await publish(registry, '1.0.0', ['alice']);

  // The fork: the registry's data directory (database and keys, the log key among them) copied
  // while it is stopped, then both run on. Same history so far; what each appends next differs.
  const port = Number(new URL(registry.url).port);
  await registry.stop();
  cpSync(path('registry'), path('fork'), { recursive: true });
  registry = await startRegistry({ dataDir: path('registry'), port, env: ENV });
  fork = await startRegistry({ dataDir: path('fork'), env: ENV });
  // The genuine log moves on past the fork point.
  await publish(registry, '1.1.0');
}, 180_000);
afterAll(async () => {
  await relay?.close();
  await registry?.stop();
  await fork?.stop();
  world.remove();
});

describe('when the pinned trusted root lists the registry log', () => {
  it('locks and resolves online with every signature proved in the log, keeps the checkpoint and the proofs, and resolves offline from them', async () => {
    const h = await host('happy');
    const s = await store(h);
    await s.lock([{ name: WEATHER, version: '1.0.0' }]);
    const cache = join(h, '.sigil-cache');
    const first = readFileSync(join(cache, 'checkpoint'), 'utf8');
    expect(first.split('\n')[1]).toBe(String(await logSize(registry)));
    const proof = JSON.parse(readFileSync(join(cache, 'proofs', readdirSync(join(cache, 'proofs'))[0]!), 'utf8')) as { checkpoint: string; entries: Array<{ kind: string }> };
    expect(proof.checkpoint).toBe(first);
    expect(proof.entries.map((e) => e.kind).sort()).toEqual(['approval', 'manifest']);
    expect((await s.resolve()).servers.map((x) => x.version)).toEqual(['1.0.0']);
    expect((await (await store(h)).resolve({ offline: true })).statusSource).toBe('offline');

    // The log grows: the next online start proves the new tree extends the stored one.
    await publish(registry, '1.2.0');
    await ok(['resolve'], tokens.reader!, { cwd: h, registryUrl: relay.url });
    const second = readFileSync(join(cache, 'checkpoint'), 'utf8');
    expect(Number(second.split('\n')[1])).toBeGreaterThan(Number(first.split('\n')[1]));
    await ok(['resolve', '--offline'], tokens.reader!, { cwd: h, registryUrl: relay.url });
  });

  it('refuses a shrunk log (the fork, still at the size it was copied at) with LOG_ROLLBACK', async () => {
    const h = await host('shrunk');
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    expect(await logSize(fork)).toBeLessThan(await logSize(registry));
    await refusedBoth(h, { kind: 'reroute', prefix: '/v1/log/', upstream: fork.url }, 'LOG_ROLLBACK');
  });

  it('refuses a forked log (same size, another root) and a larger tree that does not extend the stored one with LOG_INCONSISTENT', async () => {
    const h = await host('forked');
    await sameSize(registry, fork);
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    const size = await logSize(registry);
    expect(Number(readFileSync(join(h, '.sigil-cache', 'checkpoint'), 'utf8').split('\n')[1])).toBe(size);
    expect(await logSize(fork)).toBe(size);
    await refusedBoth(h, { kind: 'reroute', prefix: '/v1/log/', upstream: fork.url }, 'LOG_INCONSISTENT');
    await publish(fork, '4.0.0');
    expect(await logSize(fork)).toBeGreaterThan(size);
    await refusedBoth(h, { kind: 'reroute', prefix: '/v1/log/', upstream: fork.url }, 'LOG_INCONSISTENT');
  });

  it("refuses a manifest entry whose inclusion proof is another leaf's, or another leaf offered for it, with LOG_ENTRY_INVALID", async () => {
    const h = await host('other-leaf');
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    const swapProof = proofsOf((a) => {
      const approval = a.entries.find((e) => e.kind === 'approval')!;
      return { ...a, entries: a.entries.map((e) => (e.kind === 'manifest' ? { ...e, logIndex: approval.logIndex, hashes: approval.hashes } : e)) };
    });
    await refusedBoth(h, swapProof, 'LOG_ENTRY_INVALID');
    const swapLeaf = proofsOf((a) => {
      const approval = a.entries.find((e) => e.kind === 'approval')!;
      return { ...a, entries: a.entries.map((e) => (e.kind === 'manifest' ? { ...approval, kind: 'manifest' as const } : e)) };
    });
    await refusedBoth(h, swapLeaf, 'LOG_ENTRY_INVALID');
  });

  it("refuses a record whose bundle carries another leaf's inclusion proof with LOG_ENTRY_INVALID", async () => {
    const h = await host('bundle-leaf');
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    const read = async (leaf: string) => (await (await fetch(`${registry.url}/v1/log/proof?leaf=${leaf}`, { headers: { authorization: `Bearer ${tokens.reader}` } })).json()) as { logIndex: number; tlogEntry: Record<string, unknown> };
    const mine = await read(`${WEATHER}@1.0.0`);
    const other = await read(`${WEATHER}@1.1.0`);
    const proofOf = (e: Record<string, unknown>) => e.inclusionProof as Record<string, unknown>;
    // Genuine checkpoint and body, but the index and path of another leaf.
    const forged = { ...mine.tlogEntry, logIndex: other.tlogEntry.logIndex, inclusionProof: { ...proofOf(mine.tlogEntry), logIndex: proofOf(other.tlogEntry).logIndex, hashes: proofOf(other.tlogEntry).hashes } };
    const mode: RelayMode = {
      kind: 'rewrite',
      path: /\/versions\/1\.0\.0$/,
      rewrite: (json) => {
        const record = json as { bundle: { verificationMaterial: Record<string, unknown> } };
        record.bundle.verificationMaterial.tlogEntries = [forged];
        return record;
      },
    };
    await refusedBoth(h, mode, 'LOG_ENTRY_INVALID');
  });

  it('refuses an approval missing from the log with LOG_ENTRY_MISSING, through lock and resolve', async () => {
    const h = await host('no-approval');
    const dropApprovals = proofsOf((a) => ({ ...a, entries: a.entries.filter((e) => e.kind !== 'approval') }));
    relay.mode = dropApprovals;
    try {
      expect(await codeOf((await store(h)).lock([{ name: WEATHER, version: '1.0.0' }]))).toBe('LOG_ENTRY_MISSING');
      expect(await refusedVia(['lock', `${WEATHER}@1.0.0`], h)).toBe('LOG_ENTRY_MISSING');
    } finally {
      relay.mode = { kind: 'forward' };
    }
    expect(existsSync(join(h, 'sigil.lock.json'))).toBe(false);
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    await refusedBoth(h, dropApprovals, 'LOG_ENTRY_MISSING');
    await refusedBoth(h, proofsOf((a) => ({ ...a, entries: [] })), 'LOG_ENTRY_MISSING');
  });

  it('asks again, in the newest tree, for proofs an answer gave in an older one (a lock of more servers than one request carries)', async () => {
    // 33 servers: two proof requests. The last one's entries come first in the log, so the relay
    // can have the registry answer its request in the older tree signed right after them.
    // Names far apart from each other (near-identical ones are flagged as confusable: high risk).
    const names = Array.from({ length: 33 }, (_, i) => `io.github.acme/s${createHash('sha256').update(String(i)).digest('hex').slice(0, 12)}`);
    await publish(registry, '1.0.0', ['alice'], names[32]);
    const older = await logSize(registry);
    for (const name of names.slice(0, 32)) await publish(registry, '1.0.0', ['alice'], name);
    const h = await host('many');
    const sizes: Array<number | undefined> = [];
    relay.mode = {
      kind: 'rewrite',
      path: /^\/v1\/log\/proofs$/,
      request: (json) => {
        const body = json as { refs: string[]; size?: number };
        sizes.push(body.size);
        return body.refs.includes(`${names[32]}@1.0.0`) && body.size === undefined ? { ...body, size: older } : body;
      },
    };
    try {
      await (await store(h)).lock(names.map((name) => ({ name, version: '1.0.0' })));
    } finally {
      relay.mode = { kind: 'forward' };
    }
    const newest = await logSize(registry);
    expect(older).toBeLessThan(newest);
    // Two answers, one in the older tree; that one asked again at the newest size.
    expect(sizes.sort()).toEqual([newest, undefined, undefined]);
    expect(readFileSync(join(h, '.sigil-cache', 'checkpoint'), 'utf8').split('\n')[1]).toBe(String(newest));
    await ok(['resolve', '--offline'], tokens.reader!, { cwd: h, registryUrl: relay.url });
  });

  it('offline, refuses a stored checkpoint that no longer verifies (STORE_INVALID) and never resets it silently', async () => {
    const h = await host('offline-tamper');
    await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    const file = join(h, '.sigil-cache', 'checkpoint');
    const genuine = readFileSync(file, 'utf8');
    const lines = genuine.split('\n');
    lines[1] = String(Number(lines[1]) + 1);
    writeFileSync(file, lines.join('\n'));
    expect(await codeOf((await store(h)).resolve({ offline: true }))).toBe('STORE_INVALID');
    expect(await refusedVia(['resolve', '--offline'], h)).toBe('STORE_INVALID');
    expect(await refusedVia(['resolve'], h)).toBe('STORE_INVALID');
    writeFileSync(file, genuine);
    await ok(['resolve', '--offline'], tokens.reader!, { cwd: h, registryUrl: relay.url });
  });
  it('never sets a fresh signed status aside for the stored one when only the log proofs cannot be reached (fallback opted in): REVOKED', async () => {
    await publish(registry, '6.0.0', ['alice']);
    const h = path('revoked-fallback');
    await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub'), '--offline-max-status-age', '600'], tokens.reader!, { registryUrl: relay.url });
    await (await store(h)).lock([{ name: WEATHER, version: '6.0.0' }]);
    await ok(['revoke', `${WEATHER}@6.0.0`, '--reason', 'the signing key leaked'], tokens.alice!);
    // The registry answers the status (which says revoked); the proofs request fails on the network.
    relay.mode = { kind: 'drop', prefix: '/v1/log/' };
    try {
      expect(await codeOf((await store(h)).resolve())).toBe('REVOKED');
      expect(await refusedVia(['resolve'], h)).toBe('REVOKED');
    } finally {
      relay.mode = { kind: 'forward' };
    }
  });

  it('stores the fresh status a fallback start of one server verified, so a revocation it carries for another locked server is kept offline (REVOKED)', async () => {
    const other = 'io.github.acme/fallbackpeer';
    await publish(registry, '7.0.0', ['alice']);
    await publish(registry, '1.0.0', ['alice'], other);
    const h = path('revoked-beside-fallback');
    await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub'), '--offline-max-status-age', '600'], tokens.reader!, { registryUrl: relay.url });
    await (await store(h)).lock([{ name: WEATHER, version: '7.0.0' }, { name: other, version: '1.0.0' }]);
    await ok(['revoke', `${WEATHER}@7.0.0`, '--reason', 'the signing key leaked'], tokens.alice!);
    // One server started (as `sigil run` does) while only the log proofs fail on the network: it is
    // served on the fallback, under the fresh status, which says the other one is revoked.
    relay.mode = { kind: 'drop', prefix: '/v1/log/' };
    try {
      const started = await (await store(h)).resolve({ names: [other] });
      expect(started.statusSource).toBe('fallback');
    } finally {
      relay.mode = { kind: 'forward' };
    }
    expect(await codeOf((await store(h)).resolve({ names: [WEATHER], offline: true }))).toBe('REVOKED');
    expect(await refusedVia(['resolve', '--offline'], h)).toBe('REVOKED');
  });

  // Last: it drops the registry database's status triggers, as a thief with the database would.
  it('refuses a version whose revocation was dropped from the database behind the registry, from the log (REVOKED)', async () => {
    await publish(registry, '5.0.0', ['alice']);
    const h = await host('revoked-behind');
    await ok(['lock', `${WEATHER}@5.0.0`], tokens.reader!, { cwd: h, registryUrl: relay.url });
    await ok(['revoke', `${WEATHER}@5.0.0`, '--reason', 'the signing key leaked'], tokens.alice!);
    expect(await refusedVia(['resolve'], h)).toBe('REVOKED');
    // Whoever holds the database un-revokes the row; the append-only log still holds the revocation.
    const db = new Database(path('registry/registry.db'));
    try {
      db.exec('DROP TRIGGER versions_decision_final; DROP TRIGGER versions_status_forward; DROP TRIGGER versions_status_audited;');
      db.prepare("UPDATE versions SET status = 'approved', revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL WHERE server = ? AND version = '5.0.0'").run(WEATHER);
    } finally {
      db.close();
    }
    const status = (await (await fetch(`${registry.url}/v1/status`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.reader}` }, body: JSON.stringify({ refs: [`${WEATHER}@5.0.0`] }) })).json()) as { bundle: { dsseEnvelope: { payload: string } } };
    expect(Buffer.from(status.bundle.dsseEnvelope.payload, 'base64').toString('utf8')).toContain('"status":"approved"');
    expect(await codeOf((await store(h)).resolve())).toBe('REVOKED');
    expect(await refusedVia(['resolve'], h)).toBe('REVOKED');
  });
});
