import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '@sigil/signing/sign';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileRelay, type HostileRelay } from './host-relay.js';
import { acmeWorld } from './acme-world.js';

// The host's refusals against the real registry process, `sigil` running in-process. Attacks on the network path are played
// by a small HTTP relay in front of the real registry, which forwards everything unless a test
// tells it to replay, swap, inflate or withhold an answer.
let registry: RegistryProcess;
const world = acmeWorld('sigil-resolver-e2e-', () => registry);
const { path, tokens, ok } = world;
let relay: HostileRelay;
let relayUrl: string;

async function refusedVia(args: string[], cwd: string): Promise<string> {
  const run = await world.sigil([...args, '--json'], tokens.reader, { cwd, registryUrl: relayUrl });
  expect(run.code, run.stderr).toBe(1);
  return (JSON.parse(run.stdout) as { error: { code: string } }).error.code;
}
async function publishApproved(version: string, approvers: string[], name = 'io.github.acme/weather'): Promise<void> {
  await world.publish(weatherManifest({ name, version }), approvers);
}
/** A host directory whose policy pins the registry but reaches it through the relay. */
async function host(name: string, extra: string[] = []): Promise<string> {
  const h = path(name);
  await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, ...extra], tokens.reader, { registryUrl: relayUrl });
  return h;
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('registry') });
  relay = await startHostileRelay(registry.url);
  relayUrl = relay.url;

  await world.provision(['alice', 'bob', 'carol']);
  await publishApproved('1.0.0', ['alice']);
  await publishApproved('1.0.0', ['alice'], 'io.github.acme/other');
}, 180_000);
afterAll(async () => {
  await relay?.close();
  await registry?.stop();
  world.remove();
});

describe('the resolver against the real registry', () => {
  it('refuses a status signed by another key than the pinned one', async () => {
    const h = await host('other-key', ['--reviewer', path('alice.key.pub')]);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    const impostor = generateKeyPair();
    writeFileSync(join(h, 'sigil.registry.status.pub'), impostor.publicKeyPem);
    const policy = JSON.parse((await import('node:fs')).readFileSync(join(h, 'sigil.policy.json'), 'utf8')) as { registry: { statusKeyFingerprint?: string } };
    delete policy.registry.statusKeyFingerprint;
    writeFileSync(join(h, 'sigil.policy.json'), JSON.stringify(policy));
    // The stored status (the replay floor) no longer verifies under the new key: refused, not
    // silently reset; removing it is the host's deliberate act.
    expect(await refusedVia(['resolve'], h)).toBe('STORE_INVALID');
    rmSync(join(h, '.sigil-cache', 'status.json'));
    expect(await refusedVia(['resolve'], h)).toBe('SIGNATURE_INVALID');
  });

  it('refuses a replayed older status (answering another request) with STATUS_STALE', async () => {
    const h = await host('replay', ['--reviewer', path('alice.key.pub')]);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    await ok(['resolve'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    relay.mode = { kind: 'replay-status', body: relay.lastStatus! };
    try {
      expect(await refusedVia(['resolve'], h)).toBe('STATUS_STALE');
    } finally {
      relay.mode = { kind: 'forward' };
    }
  });

  it('refuses a cached status older than the policy accepts, offline, with STATUS_STALE', async () => {
    const h = await host('stale', ['--reviewer', path('alice.key.pub'), '--max-status-age', '3']);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    await ok(['resolve'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    await new Promise((r) => setTimeout(r, 3200));
    expect(await refusedVia(['resolve', '--offline'], h)).toBe('STATUS_STALE');
  });

  it('refuses a response about a different server with NAME_MISMATCH', async () => {
    const h = await host('swap', ['--reviewer', path('alice.key.pub')]);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    relay.mode = { kind: 'swap-version', from: '/io.github.acme/weather/', to: '/io.github.acme/other/' };
    try {
      expect(await refusedVia(['resolve'], h)).toBe('NAME_MISMATCH');
    } finally {
      relay.mode = { kind: 'forward' };
    }
  });

  it('does not count approvals by reviewers outside the policy (NOT_APPROVED)', async () => {
    const h = await host('outsiders', ['--reviewer', path('bob.key.pub')]);
    expect(await refusedVia(['lock', 'io.github.acme/weather@1.0.0'], h)).toBe('NOT_APPROVED');
  });

  it('refuses one approval where the policy needs two (NOT_APPROVED)', async () => {
    const h = await host('two', ['--reviewer', path('alice.key.pub'), '--reviewer', path('bob.key.pub'), '--threshold', '2', '--high-risk-threshold', '2']);
    expect(await refusedVia(['lock', 'io.github.acme/weather@1.0.0'], h)).toBe('NOT_APPROVED');
  });

  it('refuses a 50 MB response with RESPONSE_TOO_LARGE', async () => {
    const h = await host('huge', ['--reviewer', path('alice.key.pub')]);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    relay.mode = { kind: 'huge' };
    try {
      expect(await refusedVia(['resolve'], h)).toBe('RESPONSE_TOO_LARGE');
    } finally {
      relay.mode = { kind: 'forward' };
    }
  });

  it('gives up on a registry that never answers, within the bound (REGISTRY_UNREACHABLE)', async () => {
    const h = await host('silent', ['--reviewer', path('alice.key.pub')]);
    await ok(['lock', 'io.github.acme/weather@1.0.0'], tokens.reader, { cwd: h, registryUrl: relayUrl });
    relay.mode = { kind: 'silent' };
    const started = Date.now();
    try {
      expect(await refusedVia(['resolve', '--timeout', '1000'], h)).toBe('REGISTRY_UNREACHABLE');
    } finally {
      relay.mode = { kind: 'forward' };
    }
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
