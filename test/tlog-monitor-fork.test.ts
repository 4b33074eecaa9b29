import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

/**
 * `sigil log monitor` against a registry that rewrites the log below the size a publisher's CI
 * already monitored: a fork (a second registry process started from a copy of the first one's
 * data directory, so it holds the log key) where a key the publisher never held signed in its
 * namespace before that size. Re-deriving the root from the hashes below `--since` cannot see it
 * (they are the fork's, and hash to the fork's signed root); the signed checkpoint of the last
 * run (`--checkpoint`) can.
 */
const dir = mkdtempSync(join(tmpdir(), 'sigil-tlog-monitor-fork-'));
const publisherKey = generateKeyPair();
const attackerKey = generateKeyPair();
const ENV = { SIGIL_TLOG_URL: 'https://registry.sigil.test/v1/log', SIGIL_LOG_CHECKPOINT_MS: '50' };
let registry: RegistryProcess;
let fork: RegistryProcess;
let trustedRootFile: string;
let policyFile: string;
const floorFile = join(dir, 'monitor.checkpoint');

async function admin(on: RegistryProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${on.url}${path}`, { method, headers: { authorization: `Bearer ${on.adminToken}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}
async function publish(on: RegistryProcess, version: string, privateKeyPem: string) {
  const manifest = weatherManifest({ version });
  await admin(on, 'POST', '/v1/publish', { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: privateKeyPem })) });
}
async function treeOf(on: RegistryProcess): Promise<string> {
  return (await (await fetch(`${on.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${on.adminToken}` } })).text()).split('\n\n')[0]!;
}
/** The tree once every write's checkpoint is signed: two equal reads in a row. */
async function settled(on: RegistryProcess): Promise<string> {
  for (let last = ''; ; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const tree = await treeOf(on);
    if (tree === last) return tree;
    last = tree;
  }
}
const sizeOf = (tree: string) => Number(tree.split('\n')[1]);
async function monitor(on: RegistryProcess, args: string[]) {
  const r = await sigilInProcess(['log', 'monitor', '--json', '--namespace', 'io.github.acme', '--policy', policyFile, '--trusted-root', trustedRootFile, ...args], { env: { SIGIL_REGISTRY: on.url, SIGIL_TOKEN: on.adminToken } });
  return { code: r.code, out: JSON.parse(r.stdout || r.stderr) as { ok?: boolean; code?: string; size?: number; error?: { code: string } } };
}

async function logVerify(on: RegistryProcess, floor: string): Promise<[number, string | undefined]> {
  const r = await sigilInProcess(['log', 'verify', '--json', '--trusted-root', trustedRootFile, '--checkpoint', floor], { env: { SIGIL_REGISTRY: on.url, SIGIL_TOKEN: on.adminToken } });
  return [r.code, r.code === 0 ? undefined : (JSON.parse(r.stdout || r.stderr) as { error: { code: string } }).error.code];
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: join(dir, 'registry'), env: ENV });
  await admin(registry, 'PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  await publish(registry, '1.0.0', publisherKey.privateKeyPem);
  await settled(registry);
  const port = Number(new URL(registry.url).port);
  await registry.stop();
  cpSync(join(dir, 'registry'), join(dir, 'fork'), { recursive: true });
  registry = await startRegistry({ dataDir: join(dir, 'registry'), port, env: ENV });
  fork = await startRegistry({ dataDir: join(dir, 'fork'), env: ENV });
  trustedRootFile = join(dir, 'trusted_root.json');
  writeFileSync(trustedRootFile, await (await fetch(`${registry.url}/v1/trusted-root`)).text());
  writeFileSync(join(dir, 'publisher.pub'), publisherKey.publicKeyPem);
  policyFile = join(dir, 'sigil.policy.json');
  writeFileSync(policyFile, JSON.stringify({ policyVersion: 1, publishers: [{ namespace: 'io.github.acme', publicKeys: ['publisher.pub'] }] }));
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await fork?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when the registry rewrites the log below what the monitor already read', () => {
  it('refuses it with LOG_INCONSISTENT from the stored checkpoint, which --since alone cannot', async () => {
    expect(await settled(fork)).toBe(await settled(registry));
    // The genuine log: the publisher's own versions; the CI run passes and stores its checkpoint.
    await publish(registry, '1.1.0', publisherKey.privateKeyPem);
    const genuine = sizeOf(await settled(registry));
    const first = await monitor(registry, ['--checkpoint', floorFile]);
    expect([first.code, first.out.ok, first.out.size]).toEqual([0, true, genuine]);
    const floor = readFileSync(floorFile, 'utf8');
    expect(sizeOf(floor)).toBe(genuine);

    // The fork: a key the publisher never held signs in its namespace, below that size.
    await admin(fork, 'PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }, { publicKey: attackerKey.publicKeyPem }] });
    await publish(fork, '6.6.6', attackerKey.privateKeyPem);
    await publish(fork, '6.6.7', publisherKey.privateKeyPem);
    expect(sizeOf(await settled(fork))).toBeGreaterThan(genuine);

    // --since: the rewritten entries are below it, their hashes are the fork's, the root matches.
    const blind = await monitor(fork, ['--since', String(genuine)]);
    expect([blind.code, blind.out.ok]).toEqual([0, true]);
    // --checkpoint: the fork does not extend the tree the last run signed off.
    const caught = await monitor(fork, ['--checkpoint', floorFile]);
    expect([caught.code, caught.out.error?.code]).toEqual([1, 'LOG_INCONSISTENT']);
    expect(readFileSync(floorFile, 'utf8')).toBe(floor);
    // `sigil log verify` keeps the same floor: the genuine log passes, the fork does not.
    const verifyFloor = join(dir, 'verify.checkpoint');
    writeFileSync(verifyFloor, floor);
    expect(await logVerify(fork, verifyFloor)).toEqual([1, 'LOG_INCONSISTENT']);
    expect(readFileSync(verifyFloor, 'utf8')).toBe(floor);
    expect(await logVerify(registry, verifyFloor)).toEqual([0, undefined]);
    expect(readFileSync(verifyFloor, 'utf8').split('\n\n')[0]).toBe(await treeOf(registry));
    // From 0 the attacker's signature is found and refused, and the floor is not moved by a failed run.
    const fresh = join(dir, 'fresh.checkpoint');
    const full = await monitor(fork, ['--checkpoint', fresh]);
    expect([full.code, full.out.code]).toEqual([1, 'SIGNER_NOT_ALLOWED']);
    expect(existsSync(fresh)).toBe(false);
  });

  it('moves the stored checkpoint on when the genuine log grows, and refuses a tampered one and both --since and --checkpoint', async () => {
    await publish(registry, '1.2.0', publisherKey.privateKeyPem);
    const size = sizeOf(await settled(registry));
    const next = await monitor(registry, ['--checkpoint', floorFile]);
    expect([next.code, next.out.ok, next.out.size]).toEqual([0, true, size]);
    expect(sizeOf(readFileSync(floorFile, 'utf8'))).toBe(size);
    const floor = readFileSync(floorFile, 'utf8');
    const lines = floor.split('\n');
    lines[1] = String(size - 1);
    writeFileSync(floorFile, lines.join('\n'));
    expect((await monitor(registry, ['--checkpoint', floorFile])).out.error?.code).toBe('NOTE_SIGNATURE_INVALID');
    writeFileSync(floorFile, floor);
    const both = await monitor(registry, ['--checkpoint', floorFile, '--since', '0']);
    expect([both.code, both.out.error?.code]).toEqual([2, 'USAGE']);
  });
});
