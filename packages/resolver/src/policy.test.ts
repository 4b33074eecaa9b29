import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
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

describe('when a publisher or reviewer key file holds no valid P-256 public key', () => {
  // One bad reviewer key made every approval uncounted (KEY_INVALID for each, the good keys'
  // too), and a bad publisher key read as SIGNATURE_INVALID at every start: the policy is the
  // file at fault, so reading it is refused, naming the key file.
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
  const pem = (der: Buffer) => `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
  // The canonical form of a P-256 key (the fast path's), its point moved off the curve.
  const der = createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' });
  der.writeUInt8(der.readUInt8(der.length - 1) ^ 1, der.length - 1);
  const bad: Array<[string, string]> = [
    ['junk text', 'not a key\n'],
    ['an Ed25519 key', spki(generateKeyPairSync('ed25519').publicKey)],
    ['a P-384 key', spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)],
    ['an RSA key', spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)],
    ['a P-256 point off the curve, in the form OpenSSL writes', pem(der)],
    ['a private key (its public half would verify, but the secret does not belong in a policy)', key.privateKeyPem],
    ['two public keys in one file', key.publicKeyPem + key.publicKeyPem],
  ];
  it.each(bad)('refuses %s as a reviewer key and as a publisher key (POLICY_INVALID naming the file)', async (label, text) => {
    const keyFile = `bad-${label.replace(/\W+/g, '-')}.pub`;
    writeFileSync(join(dir, keyFile), text);
    for (const policy of [{ ...base, reviewers: { publicKeys: ['publisher.pub', keyFile] } }, { ...base, publishers: [{ namespace: 'io.github.acme', publicKeys: [keyFile] }] }]) {
      const error = await loadPolicy(write(policy)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'POLICY_INVALID' });
      expect((error as Error).message).toContain(join(dir, keyFile));
    }
    expect(await code(loadPublisherPolicy(write({ policyVersion: 1, publishers: [{ namespace: 'io.github.acme', publicKeys: [keyFile] }] })))).toBe('POLICY_INVALID');
    expect(await code(loadPolicy(write({ ...base, registry: { ...base.registry, statusKey: keyFile } })))).toBe('POLICY_INVALID');
  });
  it('reads a P-256 public key in another PEM layout than OpenSSL writes (CRLF line ends)', async () => {
    writeFileSync(join(dir, 'crlf.pub'), key.publicKeyPem.replaceAll('\n', '\r\n'));
    expect(await code(loadPolicy(write({ ...base, reviewers: { publicKeys: ['crlf.pub'] } })))).toBe('none');
  });
});

describe('when a policy holds a "__proto__" key (JSON.parse keeps it, an object built from the value drops it)', () => {
  it('refuses it (POLICY_INVALID) naming where it is', async () => {
    const file = join(dir, `policy-${n++}.json`);
    writeFileSync(file, JSON.stringify({ ...base, reviewers: { ...base.reviewers, PROTO: { threshold: 2 } } }).replace('"PROTO"', '"__proto__"'));
    const error = await loadPolicy(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POLICY_INVALID' });
    expect((error as Error).message).toContain('/reviewers/__proto__');
    expect(await code(loadPublisherPolicy(file))).toBe('POLICY_INVALID');
  });
});

describe('when the registry URL carries credentials, a query or a fragment', () => {
  // Each request URL is the registry URL with a path appended: credentials made every request fail
  // (REGISTRY_UNREACHABLE, so the opt-in fallback), a fragment or a query swallowed the path (404).
  it.each(['http://user:pw@127.0.0.1:9', 'http://@127.0.0.1:9', 'http://127.0.0.1:9/#', 'http://127.0.0.1:9/#x', 'http://127.0.0.1:9/?', 'http://127.0.0.1:9/base?x=1'])('refuses %s when the policy is read (POLICY_INVALID)', async (url) => {
    const policy = { ...base, registry: { ...base.registry, url } };
    const error = await loadPolicy(write(policy)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POLICY_INVALID' });
    expect((error as Error).message).toContain('/registry/url');
    expect(await code(loadPublisherPolicy(write(policy)))).toBe('POLICY_INVALID');
  });
  it('reads an origin with a path below it', async () => {
    expect((await loadPolicy(write({ ...base, registry: { ...base.registry, url: 'https://registry.example:8443/base/' } }))).registryUrl).toBe('https://registry.example:8443/base');
  });
});
