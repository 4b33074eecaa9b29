import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON as bundleFromJSON3 } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity as toSignedEntity3, toTrustMaterial as toTrustMaterial3, VerificationError as VerificationError3, Verifier as Verifier3 } from '@sigstore/verify';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from 'sigstore-verify-4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The registry's bundles checked by the stock @sigstore/verify **4.x** Verifier (the npm alias
 * `sigstore-verify-4`, beside the 3.1 line the packages use), with the registry's trusted root
 * and a transparency-log threshold of 1. 4.x needs Node ^22.22.2 or ^24.15.0, so
 * test/vitest.config.ts includes this file only there (the Node 24 CI lane); on Node 20 it is not
 * collected at all. Both entry forms are checked: the `dsse` 0.0.2 entry the version record
 * carries satisfies both lines; the `hashedrekord` 0.0.2 entry over the DSSE PAE (what Rekor v2
 * logs today) only 4.1+, which is why the registry logs both.
 */

// @sigstore/verify 4.x parses bundles with its own @sigstore/bundle (5.x).
const { bundleFromJSON } = createRequire(import.meta.resolve('sigstore-verify-4'))('@sigstore/bundle') as { bundleFromJSON: typeof bundleFromJSON3 };

const dir = mkdtempSync(join(tmpdir(), 'sigil-tlog-v4-'));
const publisherKey = generateKeyPair();
const manifest = weatherManifest({ version: '1.0.0' });
const ref = `${manifest.name}@${manifest.version}`;
let registry: RegistryProcess;
let root: unknown;
type BundleJson = { verificationMaterial: Record<string, unknown> };
let recordBundle: BundleJson;
let hashedRekordItem: { kindVersion: { kind: string } };

const key = createPublicKey(publisherKey.publicKeyPem);
const keys = () => ({ publicKey: key, validFor: () => true });
const OPTIONS = { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 };

function stock4(bundle: unknown): string {
  try {
    new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root), keys), OPTIONS).verify(toSignedEntity(bundleFromJSON(bundle)));
    return 'verified';
  } catch (e) {
    if (e instanceof VerificationError) return e.code;
    throw e;
  }
}

function stock3(bundle: unknown): string {
  try {
    new Verifier3(toTrustMaterial3(TrustedRoot.fromJSON(root), keys), OPTIONS).verify(toSignedEntity3(bundleFromJSON3(bundle)));
    return 'verified';
  } catch (e) {
    if (e instanceof VerificationError3) return e.code;
    throw e;
  }
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${registry.url}${path}`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  registry = await startRegistry({ dataDir: join(dir, 'registry'), env: { SIGIL_TLOG_URL: 'https://registry.sigil.test/v1/log', SIGIL_LOG_CHECKPOINT_MS: '50' } });
  const admin = (method: string, path: string, body: unknown) => fetch(`${registry.url}${path}`, { method, headers: { authorization: `Bearer ${registry.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect((await admin('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisherKey.publicKeyPem }] })).status).toBe(200);
  const bundle = await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem }));
  expect((await admin('POST', '/v1/publish', { manifest, bundle })).status).toBe(201);
  await new Promise((r) => setTimeout(r, 200)); // a checkpoint covers the entries
  root = await get('/v1/trusted-root');
  recordBundle = (await get<{ bundle: BundleJson }>(`/v1/servers/io.github.acme/weather/versions/${manifest.version}`)).bundle;
  // The hashedrekord form is appended right after the dsse form of the same signature.
  const dsse = await get<{ logIndex: number }>(`/v1/log/proof?leaf=${encodeURIComponent(ref)}`);
  hashedRekordItem = (await get<{ tlogEntry: { kindVersion: { kind: string } } }>(`/v1/log/proof?leaf=${dsse.logIndex + 1}`)).tlogEntry;
});
afterAll(async () => {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when the stock @sigstore/verify 4.x checks registry bundles (threshold 1)', () => {
  it("verifies the version record's bundle and its dsse 0.0.2 entry, as 3.1 does", () => {
    expect((recordBundle.verificationMaterial.tlogEntries as unknown[]).length).toBe(1);
    expect(stock4(recordBundle)).toBe('verified');
    expect(stock3(recordBundle)).toBe('verified');
  });

  it('verifies the bundle carrying the hashedrekord 0.0.2 entry over the DSSE PAE (4.1+ only)', () => {
    expect(hashedRekordItem.kindVersion.kind).toBe('hashedrekord');
    const withHashedRekord = { ...recordBundle, verificationMaterial: { ...recordBundle.verificationMaterial, tlogEntries: [hashedRekordItem] } };
    expect(stock4(withHashedRekord)).toBe('verified');
    // The 3.1 line does not accept this form for a DSSE envelope: hence both forms in the log.
    expect(stock3(withHashedRekord)).not.toBe('verified');
  });

  it('counts the entry: without one, threshold 1 refuses', () => {
    expect(stock4({ ...recordBundle, verificationMaterial: { ...recordBundle.verificationMaterial, tlogEntries: [] } })).toBe('TLOG_ERROR');
  });
});
