import { createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { manifestDigest } from '@sigil/manifest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, createIntermediateCa, createSigner, generateKeyPair, provenanceFromGitHubActions, signApprovalStatement, signManifestStatement, signProvenance, signStatement } from '../sign/index.js';
import { certSigner, codeOf, makeManifest, makePki, type Pki } from '../testkit.js';
import {
  APPROVAL_PREDICATE_TYPE,
  buildTrustedRoot,
  certificateFingerprint,
  exactIdentityPattern,
  publicKeyFingerprint,
  MANIFEST_PREDICATE_TYPE,
  SignerPolicy,
  STATEMENT_TYPE,
  STATUS_PREDICATE_TYPE,
  statementSubject,
  VerificationCache,
  verifyApprovalBundle,
  verifyManifestBundle,
  verifyProvenanceBundle,
  verifyStatementBundle,
} from './index.js';

const manifest = makeManifest();
const IDENTITY = 'mailto:release@acme.example';

const keys = generateKeyPair();
const keyPolicy = SignerPolicy.parse({ publicKeys: [keys.publicKeyPem] });
let pki: Pki;
let certPolicy: SignerPolicy;
let keyBundle: Record<string, unknown>;
let certBundle: Record<string, unknown>;

beforeAll(async () => {
  pki = makePki();
  certPolicy = SignerPolicy.parse({ identities: [{ identity: IDENTITY, ca: certificateFingerprint(pki.ca.certificatePem) }], trustedRoot: pki.trustedRoot });
  keyBundle = (await signManifestStatement(manifest, createSigner({ privateKey: keys.privateKeyPem }))) as unknown as Record<string, unknown>;
  certBundle = (await signManifestStatement(manifest, certSigner(pki, IDENTITY).signer)) as unknown as Record<string, unknown>;
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Json = { dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid: string }> }; verificationMaterial: Record<string, unknown> & { timestampVerificationData: { rfc3161Timestamps: unknown[] } } };

describe('when a manifest is signed with a key', () => {
  it('verifies from its bytes and names the key', () => {
    const result = verifyManifestBundle(JSON.stringify(keyBundle), manifest, keyPolicy);
    expect(result.signer).toEqual({ kind: 'key', keyFingerprint: keys.fingerprint });
    expect(result.statement.subject).toEqual([statementSubject({ name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) })]);
    expect(result.predicate.name).toBe(manifest.name);
  });

  it('is a bundle stock Sigstore tooling reads', () => {
    const bundle = bundleFromJSON(keyBundle);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.content.$case).toBe('dsseEnvelope');
  });

  it('is, but for the signature, the JSON the stock DSSE bundle builder writes for the same key', async () => {
    // createSigner builds a key-only bundle itself (no witness to ask): it must stay the builder's shape.
    const key = createPrivateKey(keys.privateKeyPem);
    const hint = publicKeyFingerprint(keys.publicKeyPem);
    const publicKey = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
    const builder = new DSSEBundleBuilder({ signer: { sign: async (data: Buffer) => ({ signature: cryptoSign('sha256', data, key), key: { $case: 'publicKey', publicKey, hint } }) }, witnesses: [], certificateChain: false });
    const payload = Buffer.from((keyBundle as unknown as Json).dsseEnvelope.payload, 'base64');
    const stock = bundleToJSON(await builder.create({ data: payload, type: 'application/vnd.in-toto+json' })) as unknown as Json;
    const ours = clone(keyBundle) as unknown as Json;
    expect(JSON.stringify({ ...ours, dsseEnvelope: { ...ours.dsseEnvelope, signatures: [{ ...ours.dsseEnvelope.signatures[0]!, sig: '' }] } })).toBe(
      JSON.stringify({ ...stock, dsseEnvelope: { ...stock.dsseEnvelope, signatures: [{ ...stock.dsseEnvelope.signatures[0]!, sig: '' }] } }),
    );
  });

  it('refuses a changed byte in the manifest', () => {
    const changed = makeManifest({ description: 'Weather for agentz' });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(keyBundle), changed, keyPolicy))).toBe('SUBJECT_MISMATCH');
  });

  it('refuses a payload changed after signing', () => {
    const b = clone(keyBundle) as unknown as Json;
    const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()) as { subject: Array<{ digest: { sha256: string } }> };
    statement.subject[0]!.digest.sha256 = '0'.repeat(64);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, keyPolicy))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a signed statement whose subject digest is another', async () => {
    const signer = createSigner({ privateKey: keys.privateKeyPem });
    const bundle = await signStatement(
      { _type: STATEMENT_TYPE, subject: [{ name: `${manifest.name}@${manifest.version}`, digest: { sha256: '1'.repeat(64) } }], predicateType: MANIFEST_PREDICATE_TYPE, predicate: { name: manifest.name, version: manifest.version, toolsDigest: 'sha256:' + '2'.repeat(64) } },
      signer,
    );
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, keyPolicy))).toBe('SUBJECT_MISMATCH');
  });

  it('refuses a statement for another name or another version', async () => {
    const signer = createSigner({ privateKey: keys.privateKeyPem });
    const otherName = await signManifestStatement(makeManifest({ name: 'io.github.acme/weather2' }), signer);
    const otherVersion = await signManifestStatement(makeManifest({ version: '1.2.1' }), signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(otherName), manifest, keyPolicy))).toBe('NAME_MISMATCH');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(otherVersion), manifest, keyPolicy))).toBe('NAME_MISMATCH');
  });

  it('refuses a key that is not in the policy', () => {
    const other = SignerPolicy.parse({ publicKeys: [generateKeyPair().publicKeyPem] });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(keyBundle), manifest, other))).toBe('SIGNER_UNTRUSTED');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(keyBundle), manifest, SignerPolicy.parse({})))).toBe('SIGNER_UNTRUSTED');
  });

  it('refuses a signature by another key that claims the trusted key hint', async () => {
    const intruder = generateKeyPair();
    const b = clone((await signManifestStatement(manifest, createSigner({ privateKey: intruder.privateKeyPem }))) as unknown as Json);
    (b.verificationMaterial as unknown as { publicKey: { hint: string } }).publicKey.hint = keys.fingerprint;
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, keyPolicy))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a bundle with two signatures', () => {
    const b = clone(keyBundle) as unknown as Json;
    b.dsseEnvelope.signatures.push({ ...b.dsseEnvelope.signatures[0]! });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, keyPolicy))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a bundle with no signature', () => {
    const b = clone(keyBundle) as unknown as Json;
    b.dsseEnvelope.signatures = [];
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, keyPolicy))).toBe('UNSIGNED');
  });

  it('refuses malformed JSON, a truncated bundle and a bundle of another version', () => {
    const text = JSON.stringify(keyBundle);
    expect(codeOf(() => verifyManifestBundle('{"mediaType":', manifest, keyPolicy))).toBe('BUNDLE_INVALID');
    expect(codeOf(() => verifyManifestBundle(text.slice(0, text.length - 20), manifest, keyPolicy))).toBe('BUNDLE_INVALID');
    expect(codeOf(() => verifyManifestBundle('[]', manifest, keyPolicy))).toBe('BUNDLE_INVALID');
    expect(codeOf(() => verifyManifestBundle({ ...keyBundle, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' }, manifest, keyPolicy))).toBe('BUNDLE_INVALID');
    expect(codeOf(() => verifyManifestBundle(Buffer.alloc(300 * 1024, 0x20), manifest, keyPolicy))).toBe('BUNDLE_INVALID');
  });

  it('refuses a wrong payloadType, even when validly signed', async () => {
    const signer = createSigner({ privateKey: keys.privateKeyPem });
    const b = await signer.signDsse(Buffer.from(Buffer.from((keyBundle as unknown as Json).dsseEnvelope.payload, 'base64')), 'application/json');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, keyPolicy))).toBe('STATEMENT_INVALID');
  });

  it('refuses a manifest bundle offered as an approval', () => {
    const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
    expect(codeOf(() => verifyApprovalBundle(JSON.stringify(keyBundle), subject, keyPolicy))).toBe('STATEMENT_INVALID');
  });
});

describe('when a manifest is signed with a certificate and a timestamp', () => {
  it('verifies and names the identity, the CA and the time', () => {
    const { signer } = verifyManifestBundle(JSON.stringify(certBundle), manifest, certPolicy);
    expect(signer.kind).toBe('certificate');
    if (signer.kind !== 'certificate') return;
    expect(signer.identity).toBe(IDENTITY);
    expect(signer.ca).toBe(certificateFingerprint(pki.ca.certificatePem));
    expect(Math.abs(Date.parse(signer.signedAt) - Date.now())).toBeLessThan(60_000);
  });

  it('verifies with stock @sigstore/verify given only the trusted root and an anchored identity', () => {
    const material = toTrustMaterial(TrustedRoot.fromJSON(pki.trustedRoot));
    const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(certBundle)), { subjectAlternativeName: exactIdentityPattern('release@acme.example') });
    expect(signer.identity?.subjectAlternativeName).toBe('release@acme.example');
  });

  describe('when the short-lived leaf has expired since', () => {
    const hour = 3600_000;
    const old = makePki('Acme CA', new Date(Date.now() - 24 * hour));
    const policy = SignerPolicy.parse({ identities: [{ identity: IDENTITY }], trustedRoot: old.trustedRoot });
    const validity = { notBefore: new Date(Date.now() - 3 * hour), notAfter: new Date(Date.now() - 2 * hour) };

    it('verifies when the timestamp fell inside its validity', async () => {
      const tsaNow = new Date(Math.floor((Date.now() - 2.5 * hour) / 1000) * 1000);
      const bundle = await signManifestStatement(manifest, certSigner(old, IDENTITY, { ...validity, tsaNow }).signer);
      const result = verifyManifestBundle(JSON.stringify(bundle), manifest, policy);
      expect(result.signer).toMatchObject({ kind: 'certificate', identity: IDENTITY, signedAt: tsaNow.toISOString() });
    });

    it('refuses it when the timestamp is outside its validity', async () => {
      const { certificate, keys: leafKeys } = certSigner(old, IDENTITY, { ...validity, tsaNow: new Date(Date.now() - 2.5 * hour) });
      // Signed while the leaf was valid, but the TSA saw the signature only now, after it expired.
      const signer = createSigner({ privateKey: leafKeys.privateKeyPem, certificate, timestamp: { responder: old.respond }, now: new Date(Date.now() - 2.5 * hour) });
      const bundle = await signManifestStatement(manifest, signer);
      expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policy))).toBe('TIMESTAMP_INVALID');
    });
  });

  it('refuses a leaf from an untrusted CA', async () => {
    const rogue = makePki('Acme CA');
    const bundle = await signManifestStatement(manifest, certSigner(rogue, IDENTITY, { respond: pki.respond }).signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, certPolicy))).toBe('SIGNER_UNTRUSTED');
  });

  it('refuses a timestamp from an untrusted TSA', async () => {
    const rogue = makePki('Rogue CA');
    const bundle = await signManifestStatement(manifest, certSigner(pki, IDENTITY, { respond: rogue.respond }).signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, certPolicy))).toBe('TIMESTAMP_INVALID');
  });

  it('refuses a certificate bundle that carries no timestamp, with a code and not a TypeError', () => {
    const b = clone(certBundle) as unknown as Json;
    b.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [];
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, certPolicy))).toBe('TIMESTAMP_INVALID');
  });

  it.each([
    ['a longer identity that starts with the allowed one', 'mailto:release@acme.example.evil.test'],
    ['a look-alike where "." is any character', 'mailto:release@acmeXexample'],
    ['a look-alike local part', 'mailto:xrelease@acme.example'],
    ['the same address as a URI', 'https://release@acme.example'],
  ])('refuses %s', async (_label, identity) => {
    const bundle = await signManifestStatement(manifest, certSigner(pki, identity).signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, certPolicy))).toBe('SIGNER_UNTRUSTED');
  });

  it('refuses the right identity under another CA than the policy names', async () => {
    const policy = SignerPolicy.parse({ identities: [{ identity: IDENTITY, ca: certificateFingerprint(makePki().ca.certificatePem) }], trustedRoot: pki.trustedRoot });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(certBundle), manifest, policy))).toBe('SIGNER_UNTRUSTED');
  });

  // Two organisations' CAs in one trusted root, B's root certificate named exactly as A's issuing
  // certificate: a leaf B's root signed names that issuer too, and the stock chain check accepts it
  // through B's chain. The CA a result names is the one whose key signed the leaf, never one that
  // merely bears the issuer's name; identities pinned to A's CA refuse it.
  it('refuses a leaf whose issuer only bears the name of the CA the policy pins', async () => {
    const rootA = createCa({ name: 'Acme Root CA' });
    const issuingA = createIntermediateCa(rootA, { name: 'Acme Release CA' });
    const rootB = createCa({ name: 'Acme Release CA' });
    const issuingB = createIntermediateCa(rootB, { name: 'Other Issuing CA' });
    const trustedRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: issuingA.chainPem }, { certificates: issuingB.chainPem }], timestampAuthorities: [{ certificates: pki.tsa.chainPem }] });
    const pinnedToA = SignerPolicy.parse({ identities: [{ identity: IDENTITY, ca: certificateFingerprint(issuingA.certificatePem) }], trustedRoot });
    const byA = await signManifestStatement(manifest, certSigner(pki, IDENTITY, { ca: issuingA }).signer);
    expect(verifyManifestBundle(JSON.stringify(byA), manifest, pinnedToA).signer).toMatchObject({ kind: 'certificate', ca: certificateFingerprint(issuingA.certificatePem) });
    const byRootB = await signManifestStatement(manifest, certSigner(pki, IDENTITY, { ca: rootB }).signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(byRootB), manifest, pinnedToA))).toBe('SIGNER_UNTRUSTED');
    // Pinned to no CA, it is B's chain that vouches for it, and the result does not name A.
    const anyCa = SignerPolicy.parse({ identities: [{ identity: IDENTITY }], trustedRoot });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(byRootB), manifest, anyCa))).toBe('SIGNER_UNTRUSTED');
  });

  it('refuses a certificate that may not sign code (a TSA certificate)', async () => {
    const signer = createSigner({ privateKey: pki.tsa.privateKeyPem, certificate: pki.tsa.certificatePem, timestamp: { responder: pki.respond } });
    const bundle = await signManifestStatement(manifest, signer);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, certPolicy))).toBe('CERTIFICATE_INVALID');
  });
});

describe('when one certificate signed many bundles in one process', () => {
  // x509-memo.ts keeps each certificate's encodings and chain signatures for the process: every
  // bundle must still be judged on its own signature and its own timestamp.
  const hour = 3600_000;
  const old = makePki('Acme CA', new Date(Date.now() - 24 * hour));
  const policy = SignerPolicy.parse({ identities: [{ identity: IDENTITY }], trustedRoot: old.trustedRoot });
  const validity = { notBefore: new Date(Date.now() - 3 * hour), notAfter: new Date(Date.now() - 2 * hour) };

  it('still refuses a later bundle of that certificate timestamped after it expired', async () => {
    const inside = new Date(Math.floor((Date.now() - 2.5 * hour) / 1000) * 1000);
    const { certificate, keys: leafKeys, signer } = certSigner(old, IDENTITY, { ...validity, tsaNow: inside });
    for (let i = 0; i < 3; i++) {
      const bundle = await signManifestStatement(makeManifest({ version: `1.0.${i}` }), signer);
      expect(verifyManifestBundle(JSON.stringify(bundle), makeManifest({ version: `1.0.${i}` }), policy).signer).toMatchObject({ identity: IDENTITY, signedAt: inside.toISOString() });
    }
    const late = createSigner({ privateKey: leafKeys.privateKeyPem, certificate, timestamp: { responder: old.respond }, now: inside });
    const bundle = await signManifestStatement(manifest, late);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policy))).toBe('TIMESTAMP_INVALID');
  });

  it('still refuses a later bundle of that certificate whose payload changed', () => {
    expect(verifyManifestBundle(JSON.stringify(certBundle), manifest, certPolicy).signer.kind).toBe('certificate');
    const b = clone(certBundle) as unknown as Json;
    const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()) as { predicate: { description?: string } };
    statement.predicate.description = 'changed';
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(b), manifest, certPolicy))).toBe('SIGNATURE_INVALID');
  });

  it('still refuses the same certificate under a trusted root that lacks its CA', () => {
    expect(verifyManifestBundle(JSON.stringify(certBundle), manifest, certPolicy).signer.kind).toBe('certificate');
    // Same TSA, another CA of the same name: the timestamp holds, the chain does not.
    const trustedRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: makePki('Acme CA').ca.chainPem }], timestampAuthorities: [{ certificates: pki.tsa.chainPem }] });
    const other = SignerPolicy.parse({ identities: [{ identity: IDENTITY }], trustedRoot });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(certBundle), manifest, other))).toBe('SIGNER_UNTRUSTED');
  });
});

describe('when several policies name the same trusted root', () => {
  // trust.ts compiles a root once per process for every policy naming it: each policy keeps its
  // own keys and identities.
  it('each trusts only its own keys and identities', async () => {
    const other = generateKeyPair();
    const mine = SignerPolicy.parse({ publicKeys: [keys.publicKeyPem], trustedRoot: pki.trustedRoot });
    const theirs = SignerPolicy.parse({ publicKeys: [other.publicKeyPem], trustedRoot: pki.trustedRoot });
    const byOther = (await signManifestStatement(manifest, createSigner({ privateKey: other.privateKeyPem }))) as unknown as Record<string, unknown>;
    expect(verifyManifestBundle(JSON.stringify(keyBundle), manifest, mine).signer.kind).toBe('key');
    expect(verifyManifestBundle(JSON.stringify(byOther), manifest, theirs).signer.kind).toBe('key');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(byOther), manifest, mine))).toBe('SIGNER_UNTRUSTED');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(keyBundle), manifest, theirs))).toBe('SIGNER_UNTRUSTED');
    // Neither names an identity: the certificate bundle chains to the shared root and is still refused.
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(certBundle), manifest, mine))).toBe('SIGNER_UNTRUSTED');
    expect(verifyManifestBundle(JSON.stringify(certBundle), manifest, certPolicy).signer.kind).toBe('certificate');
  });
});

describe('when verification results are cached', () => {
  it('reuses the cryptographic result but applies each policy afresh', () => {
    const cache = new VerificationCache({ maxEntries: 2 });
    const text = JSON.stringify(certBundle);
    verifyManifestBundle(text, manifest, certPolicy, { cache });
    verifyManifestBundle(text, manifest, certPolicy, { cache });
    expect(cache.size).toBe(1);
    const narrower = SignerPolicy.parse({ identities: [{ identity: 'mailto:other@acme.example' }], trustedRoot: pki.trustedRoot });
    expect(codeOf(() => verifyManifestBundle(text, manifest, narrower, { cache }))).toBe('SIGNER_UNTRUSTED');
    expect(codeOf(() => verifyManifestBundle(text, makeManifest({ version: '9.9.9' }), certPolicy, { cache }))).toBe('NAME_MISMATCH');
  });

  it('stays within its bound', () => {
    const cache = new VerificationCache({ maxEntries: 1 });
    verifyManifestBundle(JSON.stringify(keyBundle), manifest, keyPolicy, { cache });
    verifyManifestBundle(JSON.stringify(certBundle), manifest, certPolicy, { cache });
    expect(cache.size).toBe(1);
  });

  it('survives a round trip through JSON, and applies each policy afresh after loading', () => {
    const cache = new VerificationCache();
    const text = JSON.stringify(certBundle);
    const first = verifyManifestBundle(text, manifest, certPolicy, { cache });
    const loaded = new VerificationCache();
    expect(loaded.load(JSON.parse(JSON.stringify(cache.toJSON())))).toBe(1);
    const again = verifyManifestBundle(text, manifest, certPolicy, { cache: loaded });
    expect(again.signer).toEqual(first.signer);
    expect(again.bundleDigest).toBe(first.bundleDigest);
    const narrower = SignerPolicy.parse({ identities: [{ identity: 'mailto:other@acme.example' }], trustedRoot: pki.trustedRoot });
    expect(codeOf(() => verifyManifestBundle(text, manifest, narrower, { cache: loaded }))).toBe('SIGNER_UNTRUSTED');
  });

  it('skips malformed persisted entries', () => {
    const loaded = new VerificationCache();
    expect(loaded.load([{ key: 'x' }, 'junk', null])).toBe(0);
    expect(loaded.load({ not: 'an array' })).toBe(0);
  });
});

describe('when a reviewer approves', () => {
  it('verifies the decision, reviewer, risk and time', async () => {
    const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
    const bundle = await signApprovalStatement(subject, { decision: 'approved', reviewer: 'alice', risk: 'low', time: '2026-01-02T03:04:05.000Z', comment: 'read-only' }, createSigner({ privateKey: keys.privateKeyPem }));
    const result = verifyApprovalBundle(JSON.stringify(bundle), subject, keyPolicy);
    expect(result.predicate).toEqual({ decision: 'approved', reviewer: 'alice', risk: 'low', time: '2026-01-02T03:04:05.000Z', comment: 'read-only' });
    expect(result.statement.predicateType).toBe(APPROVAL_PREDICATE_TYPE);
    expect(codeOf(() => verifyApprovalBundle(JSON.stringify(bundle), { ...subject, digest: 'sha256:' + 'f'.repeat(64) }, keyPolicy))).toBe('SUBJECT_MISMATCH');
  });

  it('refuses to sign an approval with an unknown risk level', async () => {
    const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
    await expect(signApprovalStatement(subject, { decision: 'approved', reviewer: 'a', risk: 'extreme' as 'low' }, createSigner({ privateKey: keys.privateKeyPem }))).rejects.toMatchObject({ code: 'STATEMENT_INVALID' });
  });
});

describe('when a build signs provenance', () => {
  const env = {
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/weather-mcp',
    GITHUB_WORKFLOW_REF: 'acme/weather-mcp/.github/workflows/release.yml@refs/heads/main',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '26d16513386ffaa790b1c32f927544f1322e4194',
    GITHUB_RUN_ID: '42',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_EVENT_NAME: 'push',
    RUNNER_ENVIRONMENT: 'github-hosted',
  };
  const builder = 'https://github.com/actions/runner/github-hosted';

  it('verifies builder and source repository against the manifest', async () => {
    const bundle = await signProvenance(manifest, provenanceFromGitHubActions(env), createSigner({ privateKey: keys.privateKeyPem }));
    const result = verifyProvenanceBundle(JSON.stringify(bundle), manifest, { signers: keyPolicy, builderIds: [builder] });
    expect(result.predicate.runDetails.builder.id).toBe(builder);
    expect(codeOf(() => verifyProvenanceBundle(JSON.stringify(bundle), manifest, { signers: keyPolicy, builderIds: ['https://example.test/builder'] }))).toBe('PROVENANCE_INVALID');
    const elsewhere = makeManifest({ repository: { url: 'https://github.com/evil/weather-mcp', source: 'github' } });
    const forElsewhere = await signProvenance(elsewhere, provenanceFromGitHubActions(env), createSigner({ privateKey: keys.privateKeyPem }));
    expect(codeOf(() => verifyProvenanceBundle(JSON.stringify(forElsewhere), elsewhere, { signers: keyPolicy, builderIds: [builder] }))).toBe('PROVENANCE_INVALID');
  });

  it('refuses to make provenance outside GitHub Actions', () => {
    expect(codeOf(() => provenanceFromGitHubActions({}))).toBe('PROVENANCE_INVALID');
    // One sentence naming the variables, not a schema dump with their values.
    const message = (() => {
      try {
        provenanceFromGitHubActions({ ...env, GITHUB_ACTIONS: undefined, GITHUB_SHA: 'not-a-sha', GITHUB_RUN_ID: undefined });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(/: GITHUB_ACTIONS, GITHUB_RUN_ID are not set; GITHUB_SHA is malformed$/);
    expect(message).not.toContain('not-a-sha');
    expect(message).not.toContain('\n');
    expect(codeOf(() => provenanceFromGitHubActions({ ...env, GITHUB_WORKFLOW_REF: 'other/repo/.github/workflows/x.yml@refs/heads/main' }))).toBe('PROVENANCE_INVALID');
  });
});

describe('when the registry signs a status statement with its pinned key', () => {
  it('verifies under that key only', async () => {
    const status = generateKeyPair();
    const bundle = await signStatement(
      { _type: STATEMENT_TYPE, subject: [{ name: `${manifest.name}@${manifest.version}`, digest: { sha256: manifestDigest(manifest).slice(7) } }], predicateType: STATUS_PREDICATE_TYPE, predicate: { status: 'approved' } },
      createSigner({ privateKey: status.privateKeyPem }),
    );
    expect(verifyStatementBundle(JSON.stringify(bundle), status.publicKeyPem, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate).toEqual({ status: 'approved' });
    expect(codeOf(() => verifyStatementBundle(JSON.stringify(bundle), generateKeyPair().publicKeyPem, { predicateType: STATUS_PREDICATE_TYPE }))).toBe('SIGNER_UNTRUSTED');
    expect(codeOf(() => verifyStatementBundle(JSON.stringify(bundle), status.publicKeyPem, { predicateType: MANIFEST_PREDICATE_TYPE }))).toBe('STATEMENT_INVALID');
  });
});
