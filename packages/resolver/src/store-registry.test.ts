import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { loadPolicy } from './policy.js';
import { HostTrustStore } from './store.js';

// HostTrustStore and `sigil policy init` against the real registry process and the real `sigil`
// (child processes, @sigil/testing), through a relay on 127.0.0.1 that can drop the connections of
// one path, as a network failing on that path only would.
const dir = mkdtempSync(join(tmpdir(), 'sigil-store-registry-'));
const path = (name: string) => join(dir, name);
const WEATHER = 'io.github.acme/weather';
const tokens: Record<string, string> = {};
let registry: RegistryProcess;
let relay: Server;
let relayUrl = '';
/** Requests whose path starts with this are dropped unanswered. */
let dropping: string | undefined;

/** The real `sigil` against the registry (or `registryUrl`); it must exit 0. */
async function ok(args: readonly string[], token = '', registryUrl?: string): Promise<string> {
  const run = await registry.sigil(args, token, registryUrl ? { env: { SIGIL_REGISTRY: registryUrl } } : {});
  if (run.code !== 0) throw new Error(`sigil ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}
/** The refusal code of a `sigil … --json` through the relay, which must exit 1. */
async function refused(args: readonly string[]): Promise<string> {
  const run = await registry.sigil([...args, '--json'], tokens.reader, { env: { SIGIL_REGISTRY: relayUrl } });
  expect(run.code, run.stderr + run.stdout).toBe(1);
  return (JSON.parse(run.stdout) as { error: { code: string } }).error.code;
}
async function token(principal: string, role: string, ...namespaces: string[]): Promise<string> {
  const out = await ok(['token', 'create', '--principal', principal, '--role', role, ...namespaces.flatMap((n) => ['--namespace', n]), '--ttl', '2h', '--json'], registry.adminToken);
  return (JSON.parse(out) as { token: string }).token;
}
async function publish(name: string, version: string): Promise<void> {
  const file = path(`${name.replace('/', '_')}-${version}.json`);
  const manifest = weatherManifest({ name, version });
  // Tools of their own: a tool name another approved server exposes is a lint warning
  // (tool-shadowing), which makes a version high-risk, needing a second reviewer.
  if (name !== WEATHER) manifest.tools = manifest.tools.map((t) => ({ ...t, name: `${t.name}_${name.slice(-6)}` }));
  writeFileSync(file, JSON.stringify(manifest));
  await ok(['sign', file, '--key', path('publisher.key'), '--out', `${file}.bundle`]);
  await ok(['publish', file, '--bundle', `${file}.bundle`], tokens.publisher);
  await ok(['review', 'approve', `${name}@${version}`, '--key', path('alice.key')], tokens.alice);
}
/** A host directory whose policy `sigil policy init` wrote, pinning the registry through the relay. */
async function host(name: string, extra: string[] = []): Promise<string> {
  const h = path(name);
  mkdirSync(h);
  await ok(['policy', 'init', '--out', join(h, 'sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub'), ...extra], tokens.reader, relayUrl);
  return h;
}
async function store(h: string, warnings?: string[]): Promise<HostTrustStore> {
  return new HostTrustStore({
    policy: await loadPolicy(join(h, 'sigil.policy.json')),
    lockfile: join(h, 'sigil.lock.json'),
    token: tokens.reader!,
    limits: { timeoutMs: 5000 },
    ...(warnings ? { onWarning: (line: string) => void warnings.push(line) } : {}),
  });
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'none',
    (e: unknown) => (e instanceof ResolveError ? e.code : `thrown ${String(e)}`),
  );
}
async function whileDropping<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
  dropping = prefix;
  try {
    return await fn();
  } finally {
    dropping = undefined;
  }
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('registry') });
  relay = createServer((req, res) => {
    if (dropping !== undefined && req.url!.startsWith(dropping)) return void req.socket.destroy();
    const upstream = request(`${registry.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  for (const k of ['publisher', 'alice']) await ok(['keygen', '--out', path(`${k}.key`)]);
  tokens.publisher = await token('acme-ci', 'publisher', 'io.github.acme');
  tokens.alice = await token('alice', 'security');
  tokens.reader = await token('host', 'reader');
  await ok(['reviewer', 'add', 'alice', '--public-key', path('alice.key.pub')], registry.adminToken);
  await ok(['allowlist', 'add', 'io.github.acme', '--public-key', path('publisher.key.pub')], registry.adminToken);
  await publish(WEATHER, '1.0.0');
}, 180_000);
afterAll(async () => {
  relay?.closeAllConnections();
  relay?.close();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when sigil policy init is given a key file that holds no P-256 public key', () => {
  it('refuses it (POLICY_INVALID), as reading the policy does, rather than pin a key every approval or signature then fails under', async () => {
    const ed25519 = path('reviewer-ed25519.pub');
    writeFileSync(ed25519, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const junk = path('publisher-junk.pub');
    writeFileSync(junk, 'not a key\n');
    expect(await refused(['policy', 'init', '--out', path('init-bad-reviewer/sigil.policy.json'), '--publisher', `io.github.acme=${path('publisher.key.pub')}`, '--reviewer', path('alice.key.pub'), '--reviewer', ed25519])).toBe('POLICY_INVALID');
    expect(await refused(['policy', 'init', '--out', path('init-bad-publisher/sigil.policy.json'), '--publisher', `io.github.acme=${junk}`, '--reviewer', path('alice.key.pub')])).toBe('POLICY_INVALID');
  });
});

describe('when the status is answered but the records cannot be reached (the opt-in fallback)', () => {
  // docs/resolver.md, "Storing the status": the servers asked for are then served from the store
  // under the fresh status. A record request failing on the network was a refusal of its server.
  it('serves the stored records under the fresh status, with one warning; without the opt-in it is REGISTRY_UNREACHABLE', async () => {
    const optedIn = await host('records-dropped', ['--offline-max-status-age', '600']);
    await (await store(optedIn)).lock([{ name: WEATHER, version: '1.0.0' }]);
    const plain = await host('records-dropped-plain');
    await (await store(plain)).lock([{ name: WEATHER, version: '1.0.0' }]);
    await new Promise((r) => setTimeout(r, 1100)); // a status issued after the one stored by the lock
    await whileDropping('/v1/servers/', async () => {
      const warnings: string[] = [];
      const locked = (await (await store(optedIn)).storedStatus())!.issuedAt;
      const resolution = await (await store(optedIn, warnings)).resolve();
      expect(resolution.statusSource).toBe('fallback');
      expect(resolution.servers.map((s) => s.name)).toEqual([WEATHER]);
      // Judged under the status answered now, which is then stored, not the one the lock stored.
      expect(Date.parse(resolution.statusIssuedAt!)).toBeGreaterThan(Date.parse(locked));
      expect((await (await store(optedIn)).storedStatus())!.issuedAt).toBe(resolution.statusIssuedAt);
      expect(warnings).toHaveLength(1);
      expect(await codeOf((await store(plain)).resolve())).toBe('REGISTRY_UNREACHABLE');
    });
  });

  it('refuses with a revocation the fresh status carries (REVOKED), and keeps that status for offline starts', async () => {
    const name = 'io.github.acme/records-dropped-revoked';
    await publish(name, '1.0.0');
    const h = await host('records-dropped-revoked', ['--offline-max-status-age', '600']);
    await (await store(h)).lock([{ name, version: '1.0.0' }]);
    await ok(['revoke', `${name}@1.0.0`, '--reason', 'the signing key leaked'], tokens.alice);
    await whileDropping('/v1/servers/', async () => {
      expect(await codeOf((await store(h)).resolve())).toBe('REVOKED');
    });
    expect(await codeOf((await store(h)).resolve({ offline: true }))).toBe('REVOKED');
  });
});
