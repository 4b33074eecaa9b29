import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { LogProofsResponse } from '@sigil/manifest';
import { HostTrustStore, loadPolicy } from '@sigil/resolver';
import { ed25519NoteSigner, signNote } from '@sigil/tlog';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileRelay, type HostileRelay } from './host-relay.js';
import { acmeWorld, codeOf } from './acme-world.js';

// A split view shown to one host through two of its processes at once (say two `sigil run`
// started together): the registry shows one the genuine log and the other a fork of it (a second
// registry process started from a copy of the first one's data directory, so it holds the log
// key). Each tree alone extends the checkpoint the host had stored; they do not extend each other.
// The processes are ordered by events (the relay holds one's consistency request until the other
// finished), never by time.
let registry: RegistryProcess;
let fork: RegistryProcess;
let genuine: HostileRelay;
let forked: HostileRelay;
const world = acmeWorld('sigil-host-log-split-', () => registry);
const { path, tokens, ok } = world;
const WEATHER = 'io.github.acme/weather';
const ENV = { SIGIL_LOG_CHECKPOINT_MS: '200' };

async function publish(on: RegistryProcess, version: string, approvers: string[] = []): Promise<void> {
  await world.publish(weatherManifest({ name: WEATHER, version }), approvers, on.url);
  expect((await fetch(`${on.url}/v1/log/proof?leaf=${WEATHER}@${version}`, { headers: { authorization: `Bearer ${tokens.reader}` } })).status).toBe(200);
}
async function logSize(on: RegistryProcess): Promise<number> {
  const text = await (await fetch(`${on.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${tokens.reader}` } })).text();
  return Number(text.split('\n')[1]);
}
/** The newest checkpoint's text (origin, size, root) without its signature. */
async function treeOf(on: RegistryProcess): Promise<string> {
  const text = await (await fetch(`${on.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${tokens.reader}` } })).text();
  return text.split('\n\n')[0]!;
}
/** The tree once a write's checkpoint (and the audit-head entry it appends) is signed: two equal reads in a row. */
async function settled(on: RegistryProcess): Promise<string> {
  for (let last = ''; ; ) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const tree = await treeOf(on);
    if (tree === last) return tree;
    last = tree;
  }
}
/** A host locked on 1.0.0 while both logs were one (its stored checkpoint is below the fork point). */
async function host(name: string): Promise<string> {
  const h = path(name);
  await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub')], tokens.reader!, { registryUrl: genuine.url });
  await ok(['lock', `${WEATHER}@1.0.0`], tokens.reader!, { cwd: h, registryUrl: genuine.url });
  return h;
}
/** One process of the host `h`, reaching the registry through `relay`. */
async function processOf(h: string, relay: HostileRelay): Promise<HostTrustStore> {
  const policy = { ...(await loadPolicy(join(h, 'sigil.policy.json'))), registryUrl: relay.url };
  return new HostTrustStore({ policy, lockfile: join(h, 'sigil.lock.json'), token: tokens.reader!, limits: { timeoutMs: 5000 } });
}
const checkpointOf = (h: string): string => readFileSync(join(h, '.sigil-cache', 'checkpoint'), 'utf8');
const sizeOf = (envelope: string): number => Number(envelope.split('\n')[1]);

/**
 * Host `h`'s process through `held` reads the stored checkpoint and is held at its consistency
 * request; meanwhile the process through `other` resolves and stores its tree; then the held one
 * goes on. Returns the held one's outcome (its code, or 'ok').
 */
async function race(h: string, held: HostileRelay, other: HostileRelay): Promise<string> {
  const gate = held.gate(/^\/v1\/log\/consistency/);
  const first = (await processOf(h, held)).resolve().then(
    () => 'ok',
    (e: unknown) => codeOf(Promise.reject(e)),
  );
  await gate.arrived;
  await (await processOf(h, other)).resolve();
  gate.open();
  return first;
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('registry'), env: ENV });
  await world.provision(['alice']);
  await publish(registry, '1.0.0', ['alice']);
  await settled(registry);
  const port = Number(new URL(registry.url).port);
  await registry.stop();
  cpSync(path('registry'), path('fork'), { recursive: true });
  registry = await startRegistry({ dataDir: path('registry'), port, env: ENV });
  fork = await startRegistry({ dataDir: path('fork'), env: ENV });
  genuine = await startHostileRelay(registry.url);
  forked = await startHostileRelay(registry.url);
  // Records and the status from the genuine registry; the log from the fork.
  forked.mode = { kind: 'reroute', prefix: '/v1/log/', upstream: fork.url };
}, 180_000);
afterAll(async () => {
  await genuine?.close();
  await forked?.close();
  await registry?.stop();
  await fork?.stop();
  world.remove();
});

describe('when two processes of one host are shown two forks of the log at once', () => {
  it('refuses the fork that lands second with LOG_INCONSISTENT, whichever tree is larger, and keeps the first as the floor', async () => {
    // Two hosts locked on the common history, then each log grows its own way: the fork by one
    // version, the genuine log by two (so it is the larger tree).
    expect(await settled(fork)).toBe(await settled(registry));
    const a = await host('a');
    const b = await host('b');
    const common = checkpointOf(a);
    await publish(fork, '2.0.0');
    await publish(registry, '1.1.0');
    await publish(registry, '1.2.0');
    expect(await logSize(registry)).toBeGreaterThan(await logSize(fork));
    expect(await logSize(fork)).toBeGreaterThan(sizeOf(common));

    // Host a: the fork (smaller) is stored first; the genuine (larger) tree is refused.
    expect(await race(a, genuine, forked)).toBe('LOG_INCONSISTENT');
    expect(sizeOf(checkpointOf(a))).toBe(await logSize(fork));
    // Host b: the genuine (larger) tree is stored first; the fork (smaller) is refused.
    expect(await race(b, forked, genuine)).toBe('LOG_INCONSISTENT');
    expect(sizeOf(checkpointOf(b))).toBe(await logSize(registry));
    // And the floor holds afterwards: the host refuses the other tree on every later start.
    expect(await codeOf((await processOf(b, forked)).resolve())).toBe('LOG_ROLLBACK');
    expect(await codeOf((await processOf(a, genuine)).resolve())).toBe('LOG_INCONSISTENT');
  });

  it('lets two processes shown the same log both succeed, the larger tree staying stored', async () => {
    const h = await host('same');
    await publish(registry, '1.3.0');
    const before = await logSize(registry);
    expect(await race(h, genuine, genuine)).toBe('ok');
    expect(sizeOf(checkpointOf(h))).toBe(before);
    await ok(['resolve', '--offline'], tokens.reader!, { cwd: h, registryUrl: genuine.url });
  });
});

describe('when the registry serves another bundle than the one it logged', () => {
  it('refuses a second signature of the same manifest by the same key, not in the log, with LOG_ENTRY_INVALID', async () => {
    const h = await host('other-bundle');
    // The publisher's key signs the same manifest again (ECDSA: another signature): a bundle the
    // registry could hold back and serve instead, while the log has only the first one.
    const file = path('resigned.json');
    writeFileSync(file, JSON.stringify(weatherManifest({ name: WEATHER, version: '1.0.0' })));
    await ok(['sign', file, '--key', path('publisher.key'), '--out', `${file}.bundle`]);
    const resigned = JSON.parse(readFileSync(`${file}.bundle`, 'utf8')) as Record<string, unknown>;
    genuine.mode = { kind: 'rewrite', path: /\/versions\/1\.0\.0$/, rewrite: (json) => ({ ...(json as Record<string, unknown>), bundle: resigned }) };
    try {
      expect(await codeOf((await processOf(h, genuine)).resolve())).toBe('LOG_ENTRY_INVALID');
    } finally {
      genuine.mode = { kind: 'forward' };
    }
  });
});

describe("when the log checkpoint note is rewritten on the way to the host", () => {
  it('refuses a changed text, another origin spelling, CRLF, an unknown key alone, or a bad signature beside a good one; accepts an unknown cosignature beside the log one', async () => {
    const h = await host('notes');
    await publish(registry, '1.4.0');
    const witness = ed25519NoteSigner('witness.example.net', generateKeyPairSync('ed25519').privateKey);
    const textOf = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 1);
    const sigLines = (note: string) => note.slice(note.lastIndexOf('\n\n') + 2);
    const rewrites: Array<[string, (note: string) => string, string]> = [
      ['another size in the text', (n) => n.replace(/\n(\d+)\n/, (_, d: string) => `\n${Number(d) + 1}\n`), 'SIGNATURE_INVALID'],
      ['a space after the origin', (n) => n.replace('\n', ' \n'), 'SIGNATURE_INVALID'],
      ['CRLF line endings', (n) => n.replaceAll('\n', '\r\n'), 'RESPONSE_INVALID'],
      ['an extension line the log did not sign', (n) => `${textOf(n)}ext\n\n${sigLines(n)}`, 'SIGNATURE_INVALID'],
      ['only an unknown key signed', (n) => signNote(textOf(n), [witness]), 'SIGNATURE_INVALID'],
      ["the log's key id with another key's signature beside the good one", (n) => n + sigLines(signNote(textOf(n), [{ ...witness, name: 'localhost', keyId: keyIdOf(n) }])), 'SIGNATURE_INVALID'],
    ];
    for (const [what, rewrite, code] of rewrites) {
      const before = checkpointOf(h);
      genuine.mode = { kind: 'rewrite', path: /^\/v1\/log\/proofs$/, rewrite: (json) => ({ ...(json as LogProofsResponse), checkpoint: rewrite((json as LogProofsResponse).checkpoint) }) };
      try {
        expect(await codeOf((await processOf(h, genuine)).resolve()), what).toBe(code);
      } finally {
        genuine.mode = { kind: 'forward' };
      }
      expect(checkpointOf(h), what).toBe(before);
    }
    // A cosignature by a key the host does not know is ignored (C2SP signed-note): the log's own signature counts.
    genuine.mode = { kind: 'rewrite', path: /^\/v1\/log\/proofs$/, rewrite: (json) => ({ ...(json as LogProofsResponse), checkpoint: (json as LogProofsResponse).checkpoint + sigLines(signNote(textOf((json as LogProofsResponse).checkpoint), [witness])) }) };
    try {
      await (await processOf(h, genuine)).resolve();
    } finally {
      genuine.mode = { kind: 'forward' };
    }
    expect(sizeOf(checkpointOf(h))).toBe(await logSize(registry));
  });
});

/** The key id (first four signature bytes) of a note's first signature line. */
function keyIdOf(note: string): number {
  const line = note.slice(note.lastIndexOf('\n\n') + 2).split('\n')[0]!;
  return Buffer.from(line.split(' ')[2]!, 'base64').readUInt32BE(0);
}

describe("when a record's bundle carries another view of the log than the proofs", () => {
  it("refuses a record whose tlogEntries checkpoint is the fork's, larger than the tree the proofs are in (LOG_INCONSISTENT)", async () => {
    const h = await host('record-view');
    // The fork signed a larger tree that also holds 1.0.0's entry (common history): its proof of
    // that entry verifies under the pinned log key, so the bundle alone cannot tell.
    for (let n = 0; (await logSize(fork)) <= (await logSize(registry)) && n < 20; n++) await publish(fork, `2.1.${n}`);
    const forkItem = ((await (await fetch(`${fork.url}/v1/log/proof?leaf=${WEATHER}@1.0.0`, { headers: { authorization: `Bearer ${tokens.reader}` } })).json()) as { tlogEntry: unknown }).tlogEntry;
    expect(await logSize(fork)).toBeGreaterThan(await logSize(registry));
    const before = checkpointOf(h);
    genuine.mode = {
      kind: 'rewrite',
      path: /\/versions\/1\.0\.0$/,
      rewrite: (json) => {
        const record = json as { bundle: { verificationMaterial: Record<string, unknown> } };
        record.bundle.verificationMaterial.tlogEntries = [forkItem];
        return record;
      },
    };
    try {
      expect(await codeOf((await processOf(h, genuine)).resolve())).toBe('LOG_INCONSISTENT');
    } finally {
      genuine.mode = { kind: 'forward' };
    }
    expect(checkpointOf(h)).toBe(before);
  });
});
