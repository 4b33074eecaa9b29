import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@sigil/signing/sign';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { loadPolicy, loadPublisherPolicy } from './policy.js';

// One schema for sigil.policy.json: the host commands and `sigil verify` parse the same fields
// with the same strictness, and the offline fallback is opt-in and bounded.
const dir = mkdtempSync(join(tmpdir(), 'sigil-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = generateKeyPair();
writeFileSync(join(dir, 'status.pub'), key.publicKeyPem);
writeFileSync(join(dir, 'publisher.pub'), key.publicKeyPem);
writeFileSync(join(dir, 'root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }));
const base = {
  policyVersion: 1,
  registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' },
  publishers: [{ namespace: 'io.github.acme', publicKeys: ['publisher.pub'] }],
  reviewers: { publicKeys: ['publisher.pub'] },
};
let n = 0;
function write(policy: unknown): string {
  const file = join(dir, `policy-${n++}.json`);
  writeFileSync(file, JSON.stringify(policy));
  return file;
}
async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'none',
    (e: unknown) => (e instanceof ResolveError ? e.code : `thrown ${String(e)}`),
  );
}

describe('when a policy opts in to the offline fallback', () => {
  it('is absent by default: no fallback', async () => {
    expect((await loadPolicy(write(base))).offlineFallbackMaxAgeMs).toBeUndefined();
  });
  it('is accepted up to an hour, and never above the online age', async () => {
    expect((await loadPolicy(write({ ...base, offline: { maxStatusAgeSeconds: 900 } }))).offlineFallbackMaxAgeMs).toBe(900_000);
    expect(await code(loadPolicy(write({ ...base, offline: { maxStatusAgeSeconds: 7200 } })))).toBe('POLICY_INVALID');
    expect(await code(loadPolicy(write({ ...base, maxStatusAgeSeconds: 600, offline: { maxStatusAgeSeconds: 900 } })))).toBe('POLICY_INVALID');
  });
});

describe('how live tools are held to the pin', () => {
  it('is exact by default, pinned-subset when the policy says so, and nothing else', async () => {
    expect((await loadPolicy(write(base))).liveTools).toBe('exact');
    expect((await loadPolicy(write({ ...base, liveTools: 'pinned-subset' }))).liveTools).toBe('pinned-subset');
    expect(await code(loadPolicy(write({ ...base, liveTools: 'subset' })))).toBe('POLICY_INVALID');
    expect(await code(loadPolicy(write({ ...base, liveTools: true })))).toBe('POLICY_INVALID');
  });
});

describe('when sigil verify reads the publisher part', () => {
  it('reads a publisher-only policy with the same fields', async () => {
    const publishers = await loadPublisherPolicy(write({ policyVersion: 1, publishers: base.publishers }));
    expect(publishers.map((p) => p.namespace)).toEqual(['io.github.acme']);
  });
  it('refuses a misspelt key like the host commands do (POLICY_INVALID)', async () => {
    const typo = { ...base, publisher: base.publishers };
    expect(await code(loadPublisherPolicy(write(typo)))).toBe('POLICY_INVALID');
    expect(await code(loadPolicy(write(typo)))).toBe('POLICY_INVALID');
  });
  it('refuses certificate identities without a pinned trusted root', async () => {
    expect(await code(loadPublisherPolicy(write({ policyVersion: 1, publishers: [{ namespace: 'io.github.acme', identities: [{ identity: 'mailto:a@acme.example' }] }] })))).toBe('POLICY_INVALID');
  });
});

describe('when a namespace pattern is listed twice', () => {
  it('refuses the policy (POLICY_INVALID) rather than silently taking the first entry', async () => {
    // A hand-edited policy (or a merge) with two entries for one pattern: the most specific match
    // found the first and ignored the second, so a reviewer reading the file could not tell which
    // signers a namespace trusts.
    const twice = { ...base, publishers: [{ namespace: 'io.github.acme', publicKeys: ['publisher.pub'] }, { namespace: 'io.github.acme', identities: [{ identity: 'mailto:a@acme.example' }] }] };
    expect(await code(loadPolicy(write(twice)))).toBe('POLICY_INVALID');
    expect(await code(loadPublisherPolicy(write(twice)))).toBe('POLICY_INVALID');
  });
});

describe('when a policy holds the same key twice (a reviewer reads the first, JSON.parse keeps the last)', () => {
  it('refuses it (POLICY_INVALID) naming the key, as a manifest is refused (JSON_DUPLICATE_KEY)', async () => {
    // A reviewed change that shows "threshold": 2 first; the policy's own "threshold": 1 lower down wins.
    const file = join(dir, `policy-${n++}.json`);
    writeFileSync(file, JSON.stringify({ ...base, reviewers: { FIRST: 2, ...base.reviewers, threshold: 1 } }, null, 2).replace('"FIRST"', '"threshold"'));
    const error = await loadPolicy(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POLICY_INVALID' });
    expect((error as Error).message).toContain('/reviewers/threshold');
    expect(await code(loadPublisherPolicy(file))).toBe('POLICY_INVALID');
  });
});

describe('when another local user can write the policy or a file it names (the store\'s rule, StrictModes)', () => {
  // Whoever can rewrite the policy or a key it names decides what verifies: refused like a store
  // file (STORE_UNSAFE); 0644, what a checkout under umask 022 makes, is read.
  it('refuses one writable by its group or by every user, and reads it at 0644', async () => {
    const file = write(base);
    for (const [mode, expected] of [[0o666, 'STORE_UNSAFE'], [0o664, 'STORE_UNSAFE'], [0o644, 'none']] as const) {
      chmodSync(file, mode);
      expect(await code(loadPolicy(file))).toBe(expected);
      expect(await code(loadPublisherPolicy(file))).toBe(expected);
    }
  });
  it('refuses a key file the policy names that every user can write', async () => {
    const keyFile = join(dir, 'writable.pub');
    writeFileSync(keyFile, key.publicKeyPem);
    chmodSync(keyFile, 0o646);
    const file = write({ ...base, reviewers: { publicKeys: ['writable.pub'] } });
    expect(await code(loadPolicy(file))).toBe('STORE_UNSAFE');
    chmodSync(keyFile, 0o644);
    expect(await code(loadPolicy(file))).toBe('none');
  });
});
