import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { runSigil, startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `sigil log verify` and `sigil log proof` against the real registry process, directly and
 * through a relay that forges logged entries on the way.
 */

const dir = mkdtempSync(join(tmpdir(), 'sigil-tlog-cli-'));
const publisherKey = generateKeyPair();
const manifest = weatherManifest();
let registry: RegistryProcess;
let relay: Server;
let relayUrl: string;

async function admin(method: string, path: string, body: unknown) {
  const res = await fetch(`${registry.url}${path}`, { method, headers: { authorization: `Bearer ${registry.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBeLessThan(300);
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: join(dir, 'registry'), env: { SIGIL_TLOG_URL: 'https://registry.sigil.test/v1/log', SIGIL_LOG_CHECKPOINT_MS: '50' } });
  await admin('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  const bundle = await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem }));
  await admin('POST', '/v1/publish', { manifest, bundle });
  // A relay that changes one byte of the last logged entry in every entry bundle it forwards.
  relay = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${registry.url}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } });
      let bytes = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.startsWith('/v1/log/tile/entries/') && upstream.ok) {
        bytes = Buffer.from(bytes);
        bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(bytes);
    })();
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  await new Promise((r) => setTimeout(r, 200)); // one checkpoint interval
});
afterAll(async () => {
  await new Promise<void>((r) => relay.close(() => r()));
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('sigil log verify', () => {
  it('re-derives the tree from every entry and matches the signed checkpoint', async () => {
    const r = await registry.sigil(['log', 'verify', '--json'], registry.adminToken);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { size: number; origin: string };
    expect(out.origin).toBe('registry.sigil.test');
    // Two registry keys, the manifest's dsse and hashedrekord entries, and an audit head per checkpoint.
    const signed = await (await fetch(`${registry.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${registry.adminToken}` } })).text();
    expect(out.size).toBe(Number(signed.split('\n')[1]));
    expect(out.size).toBeGreaterThanOrEqual(5);
  });

  it('refuses a relay that changed a logged entry (LOG_INCONSISTENT), with the trusted root pinned', async () => {
    const pinned = join(dir, 'trusted_root.json');
    writeFileSync(pinned, await (await fetch(`${registry.url}/v1/trusted-root`)).text());
    const r = await runSigil(['log', 'verify', '--trusted-root', pinned], { env: { SIGIL_REGISTRY: relayUrl, SIGIL_TOKEN: registry.adminToken } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LOG_INCONSISTENT');
  });
});

describe('sigil log proof', () => {
  it('checks the inclusion of a version and writes its bundle, which the stock Verifier counts', async () => {
    const out = join(dir, 'bundle-with-log.json');
    const r = await registry.sigil(['log', 'proof', `${manifest.name}@${manifest.version}`, '--bundle-out', out, '--json'], registry.adminToken);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { kind: string }).kind).toBe('dsse');
    const root = await (await fetch(`${registry.url}/v1/trusted-root`)).json();
    const key = createPublicKey(publisherKey.publicKeyPem);
    const material = toTrustMaterial(TrustedRoot.fromJSON(root), () => ({ publicKey: key, validFor: () => true }));
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as unknown;
    expect(() => new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(bundle)))).not.toThrow();
  });

  it('refuses an unknown version with the registry code', async () => {
    const r = await registry.sigil(['log', 'proof', `${manifest.name}@9.9.9`], registry.adminToken);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NOT_FOUND');
  });
});
