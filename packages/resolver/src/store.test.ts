import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_STATUS_REFS } from '@sigil/manifest';
import { generateKeyPair } from '@sigil/signing/sign';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { loadPolicy } from './policy.js';
import { HostTrustStore } from './store.js';

// Refusals the store makes before any network or crypto (the registry here is a closed port, so
// reaching it would be REGISTRY_UNREACHABLE, not the code asserted).
const dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = generateKeyPair();
writeFileSync(join(dir, 'status.pub'), key.publicKeyPem);
writeFileSync(join(dir, 'root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }));
writeFileSync(join(dir, 'sigil.policy.json'), JSON.stringify({ policyVersion: 1, registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' }, reviewers: {} }));
const entry = { version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, toolsDigest: `sha256:${'b'.repeat(64)}`, signer: 'SHA256:x', approvals: [] };

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'none',
    (e: unknown) => (e instanceof ResolveError ? e.code : `thrown ${String(e)}`),
  );
}

describe('when the lock is larger than one signed status covers', () => {
  it('resolve (online and offline) and lock refuse it with LOCKFILE_INVALID', async () => {
    const lockfile = join(dir, 'sigil.lock.json');
    writeFileSync(lockfile, JSON.stringify({ lockfileVersion: 1, servers: Object.fromEntries(Array.from({ length: MAX_STATUS_REFS + 1 }, (_, i) => [`io.github.acme/server-${i}`, entry])) }));
    const store = new HostTrustStore({ policy: await loadPolicy(join(dir, 'sigil.policy.json')), lockfile });
    expect(await codeOf(store.resolve())).toBe('LOCKFILE_INVALID');
    // Offline too (`resolve --offline`, `run --offline`): no online start would take this lock.
    expect(await codeOf(store.resolve({ offline: true }))).toBe('LOCKFILE_INVALID');
    expect(await codeOf(store.lock([{ name: 'io.github.acme/one-more', version: '1.0.0' }]))).toBe('LOCKFILE_INVALID');
  });
});

describe('when a name is not locked', () => {
  it('resolve and update refuse it with NOT_LOCKED', async () => {
    const lockfile = join(dir, 'small.lock.json');
    writeFileSync(lockfile, JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/weather': entry } }));
    const store = new HostTrustStore({ policy: await loadPolicy(join(dir, 'sigil.policy.json')), lockfile });
    expect(await codeOf(store.resolve({ names: ['io.github.acme/other'] }))).toBe('NOT_LOCKED');
    expect(await codeOf(store.update(['io.github.acme/other']))).toBe('NOT_LOCKED');
    expect(await codeOf(store.resolve({ offline: true }))).toBe('REGISTRY_UNREACHABLE');
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('refuses %s, a name every object inherits, with NOT_LOCKED too', async (name) => {
    const lockfile = join(dir, 'small.lock.json');
    writeFileSync(lockfile, JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/weather': entry } }));
    const store = new HostTrustStore({ policy: await loadPolicy(join(dir, 'sigil.policy.json')), lockfile });
    for (const offline of [true, false]) expect(await codeOf(store.resolve({ names: [name], offline }))).toBe('NOT_LOCKED');
    expect(await codeOf(store.update([name]))).toBe('NOT_LOCKED');
  });
});
