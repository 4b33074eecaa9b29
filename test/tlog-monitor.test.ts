import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

/**
 * `sigil log monitor` against the real registry process: what a publisher runs in CI. Its own
 * key publishes; then a key it never held is added to the allowlist (a compromised admin token,
 * or a stolen allowlist change) and publishes in its namespace. The monitor lists the namespace's
 * entries, re-derives the signed root, and exits 1 naming the signer its policy (or the
 * registry's allowlist, once the key is removed from it) does not allow. A relay that lies about
 * which version an entry records cannot hide it from the namespace.
 */

const dir = mkdtempSync(join(tmpdir(), 'sigil-tlog-monitor-'));
const publisherKey = generateKeyPair();
const attackerKey = generateKeyPair();
const otherKey = generateKeyPair();
let registry: RegistryProcess;
let relay: Server;
let relayUrl: string;
let policyFile: string;
let trustedRootFile: string;

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${registry.url}${path}`, { method, headers: { authorization: `Bearer ${registry.adminToken}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}

async function publish(manifest: ReturnType<typeof weatherManifest>, privateKeyPem: string) {
  const bundle = await signManifestStatement(manifest, createSigner({ privateKey: privateKeyPem }));
  await admin('POST', '/v1/publish', { manifest, bundle });
}

interface MonitorOut {
  ok: boolean;
  code?: string;
  size: number;
  entries: { logIndex: number; kind: string; form: string; subject: string; signer?: string; allowed?: boolean }[];
  unattributed: { logIndex: number; subject: string }[];
}

async function monitor(args: string[], registryUrl = registry.url) {
  const r = await sigilInProcess(['log', 'monitor', '--json', '--trusted-root', trustedRootFile, ...args], { env: { SIGIL_REGISTRY: registryUrl, SIGIL_TOKEN: registry.adminToken } });
  return { ...r, out: r.stdout ? (JSON.parse(r.stdout) as MonitorOut) : undefined };
}

/** Waits for a checkpoint covering every entry appended so far (the signing interval is 50 ms). */
const settle = () => new Promise((r) => setTimeout(r, 200));

beforeAll(async () => {
  registry = await startRegistry({ dataDir: join(dir, 'registry'), env: { SIGIL_TLOG_URL: 'https://registry.sigil.test/v1/log', SIGIL_LOG_CHECKPOINT_MS: '50' } });
  await admin('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  await admin('PUT', '/v1/allowlist/io.github.other', { signers: [{ publicKey: otherKey.publicKeyPem }] });
  await publish(weatherManifest({ version: '1.0.0' }), publisherKey.privateKeyPem);
  await publish({ ...weatherManifest({ version: '3.0.0' }), name: 'io.github.other/weather' }, otherKey.privateKeyPem);
  trustedRootFile = join(dir, 'trusted_root.json');
  writeFileSync(trustedRootFile, await (await fetch(`${registry.url}/v1/trusted-root`)).text());
  writeFileSync(join(dir, 'publisher.pub'), publisherKey.publicKeyPem);
  policyFile = join(dir, 'sigil.policy.json');
  writeFileSync(policyFile, JSON.stringify({ policyVersion: 1, publishers: [{ namespace: 'io.github.acme', publicKeys: ['publisher.pub'] }] }));
  // A relay that says every signature entry records io.github.other/weather@3.0.0.
  relay = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${registry.url}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } });
      let bytes = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.startsWith('/v1/log/proof') && upstream.ok) {
        const body = JSON.parse(bytes.toString('utf8')) as { kind: string; subject: string };
        if (body.kind === 'manifest') bytes = Buffer.from(JSON.stringify({ ...body, subject: 'io.github.other/weather@3.0.0' }));
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(bytes);
    })();
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  await settle();
});
afterAll(async () => {
  await new Promise<void>((r) => relay.close(() => r()));
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when only the publisher signed in its namespace', () => {
  it("lists the namespace's entries, both forms of its signature, and exits 0", async () => {
    const r = await monitor(['--namespace', 'io.github.acme', '--policy', policyFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.out!.ok).toBe(true);
    const manifests = r.out!.entries.filter((e) => e.kind === 'manifest');
    expect(manifests.map((e) => e.form).sort()).toEqual(['dsse', 'hashedrekord']);
    expect(manifests.every((e) => e.subject === 'io.github.acme/weather@1.0.0' && e.allowed === true)).toBe(true);
    // The other namespace's version is not listed.
    expect(r.out!.entries.some((e) => e.subject.startsWith('io.github.other/'))).toBe(false);
  });

  it('lists nothing since the size it printed', async () => {
    const first = await monitor(['--namespace', 'io.github.acme']);
    const again = await monitor(['--namespace', 'io.github.acme', '--since', String(first.out!.size)]);
    expect(again.code).toBe(0);
    expect(again.out!.entries).toEqual([]);
  });
});

describe('what a run says about where the next one starts (text output)', () => {
  const text = (args: string[]) => sigilInProcess(['log', ...args, '--trusted-root', trustedRootFile], { env: { SIGIL_REGISTRY: registry.url, SIGIL_TOKEN: registry.adminToken } });

  it('monitor names --since without --checkpoint, and the kept file with it', async () => {
    const plain = await text(['monitor', '--namespace', 'io.github.acme']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/; next: --since \d+\n$/);
    const file = join(dir, 'text-monitor.checkpoint');
    const kept = await text(['monitor', '--namespace', 'io.github.acme', '--checkpoint', file]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(`; checkpoint kept in ${file}\n`);
    expect(kept.stdout).not.toContain('--since');
  });

  it('log verify --checkpoint says a first run from one that extends the kept size', async () => {
    const file = join(dir, 'text-verify.checkpoint');
    const first = await text(['verify', '--checkpoint', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`; first run, checkpoint kept in ${file}\n`);
    const again = await text(['verify', '--checkpoint', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/; extends the last passing run's size \d+, checkpoint kept in /);
    expect(again.stdout.endsWith(`checkpoint kept in ${file}\n`)).toBe(true);
    expect((await text(['verify'])).stdout).not.toContain('checkpoint kept');
  });
});

describe('when a key the publisher never held signs in its namespace (a compromise)', () => {
  let since: number;
  beforeAll(async () => {
    since = (await monitor(['--namespace', 'io.github.acme'])).out!.size;
    await admin('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }, { publicKey: attackerKey.publicKeyPem }] });
    await publish(weatherManifest({ version: '1.0.1' }), attackerKey.privateKeyPem);
    await settle();
  });

  it('exits 1 naming the signer its policy does not allow (SIGNER_NOT_ALLOWED)', async () => {
    const r = await monitor(['--namespace', 'io.github.acme', '--since', String(since), '--policy', policyFile]);
    expect(r.code).toBe(1);
    expect(r.out!.code).toBe('SIGNER_NOT_ALLOWED');
    const flagged = r.out!.entries.filter((e) => e.allowed === false);
    expect(flagged.map((e) => e.subject)).toEqual(['io.github.acme/weather@1.0.1', 'io.github.acme/weather@1.0.1']);
    expect(flagged[0]!.signer).toMatch(/^SHA256:/);
  });

  it('passes against the allowlist while the key is in it, and exits 1 once it is removed', async () => {
    expect((await monitor(['--namespace', 'io.github.acme', '--since', String(since)])).code).toBe(0);
    await admin('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] });
    const r = await monitor(['--namespace', 'io.github.acme', '--since', String(since)]);
    expect(r.code).toBe(1);
    expect(r.out!.code).toBe('SIGNER_NOT_ALLOWED');
  });

  it('is not fooled by a relay that says the entry is about another namespace (LOG_ENTRY_UNKNOWN)', async () => {
    const r = await monitor(['--namespace', 'io.github.acme', '--since', String(since), '--policy', policyFile], relayUrl);
    expect(r.code).toBe(1);
    expect(r.out!.code).toBe('LOG_ENTRY_UNKNOWN');
    expect(r.out!.unattributed.length).toBeGreaterThan(0);
  });

  it('refuses a --since beyond the signed size (LOG_ROLLBACK)', async () => {
    const r = await monitor(['--namespace', 'io.github.acme', '--since', '100000']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('LOG_ROLLBACK');
  });
});

describe('when the registry hides a logged revocation from the lookup hosts use (POST /v1/log/proofs)', () => {
  // The lookup finds entries by columns outside the leaf hash: a database rewrite of them, or a
  // relay, leaves the tree as it was while no host is shown the revocation. The monitor reads the
  // log itself and asks the lookup for each refusal it read.
  let hiding: Server;
  let hidingUrl: string;
  /** The log's size before the revocation: the runs below start there (the compromise above is reported before any hidden entry). */
  let before: number;
  beforeAll(async () => {
    before = (await monitor(['--namespace', 'io.github.acme'])).out!.size;
    const made = await fetch(`${registry.url}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${registry.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'sec', role: 'security' }) });
    const { token } = (await made.json()) as { token: string };
    const revoked = await fetch(`${registry.url}/v1/servers/io.github.acme/weather/versions/1.0.0/revocations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'key compromise' }) });
    expect(revoked.status).toBe(201);
    await settle();
    hiding = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = chunks.length ? Buffer.concat(chunks) : undefined;
          const upstream = await fetch(`${registry.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '', ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) });
          let bytes = Buffer.from(await upstream.arrayBuffer());
          if (req.url === '/v1/log/proofs' && upstream.ok) {
            const proofs = JSON.parse(bytes.toString('utf8')) as { entries: Array<{ kind: string }> };
            bytes = Buffer.from(JSON.stringify({ ...proofs, entries: proofs.entries.filter((e) => e.kind !== 'revocation') }));
          }
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(bytes);
        })();
      });
    });
    await new Promise<void>((r) => hiding.listen(0, '127.0.0.1', r));
    hidingUrl = `http://127.0.0.1:${(hiding.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => hiding.close(() => r()));
  });

  it('passes while the lookup shows it, and exits 1 naming it (LOG_ENTRY_HIDDEN) when it does not', async () => {
    const honest = await monitor(['--namespace', 'io.github.acme', '--policy', policyFile, '--since', String(before)]);
    const revocation = honest.out!.entries.find((e) => e.kind === 'revocation');
    expect(revocation?.subject).toBe('io.github.acme/weather@1.0.0');
    expect([honest.code, honest.out!.ok]).toEqual([0, true]);
    const hidden = await monitor(['--namespace', 'io.github.acme', '--policy', policyFile, '--since', String(before)], hidingUrl);
    expect(hidden.code).toBe(1);
    expect(hidden.out!.code).toBe('LOG_ENTRY_HIDDEN');
    expect((hidden.out as unknown as { hidden: Array<{ logIndex: number }> }).hidden.map((e) => e.logIndex)).toEqual([revocation!.logIndex]);
  });
});
