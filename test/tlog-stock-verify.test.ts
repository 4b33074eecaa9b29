import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { parseManifest } from '@sigil/manifest';
import { buildTrustedRoot, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, signManifestStatement } from '@sigil/signing/sign';
import {
  buildTlogEntry,
  checkEntryForEnvelope,
  dsseEntry,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  ed25519PublicKeyBytes,
  inclusionProof,
  keyHash,
  logOrigin,
  MemoryHashStore,
  SIG_TYPE_ED25519,
  signCheckpoint,
  transparencyLogInstance,
  verifyTlogEntry,
  hashLeaf,
} from '@sigil/tlog';
import { describe, expect, it } from 'vitest';

/**
 * A bundle as Sigil signs it today (certificate from the organisation CA, RFC 3161 timestamp
 * from the registry's TSA), given a `dsse` 0.0.2 log entry by @sigil/tlog, and checked by the
 * stock @sigstore/verify Verifier with the organisation's trusted root plus the log, and a
 * transparency-log threshold of 1. No Sigil verification code is involved in the stock check.
 */

const BASE_URL = 'https://registry.sigil.test';
const manifest = parseManifest(
  JSON.stringify({
    name: 'io.github.acme/weather',
    description: 'Weather for agents',
    version: '1.2.0',
    tools: [{ name: 'get_forecast', description: 'Daily forecast.', inputSchema: { type: 'object' } }],
  }),
);

interface SerializedBundleJson {
  verificationMaterial: { certificate?: { rawBytes: string }; tlogEntries?: unknown[] };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

async function signedWorld() {
  const ca = createCa({ name: 'Acme Test CA' });
  const tsa = createTsa(ca);
  const leafKeys = generateKeyPair();
  const certificate = issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity: 'mailto:release@acme.example' });
  const responder = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
  const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: leafKeys.privateKeyPem, certificate, timestamp: { responder } }))) as unknown as SerializedBundleJson;
  const orgRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] });
  return { bundle, orgRoot, certificateDer: new X509Certificate(certificate).raw };
}

function logged(bundle: SerializedBundleJson, certificateDer: Uint8Array, logKey = generateKeyPairSync('ed25519')) {
  const envelope = {
    payloadType: bundle.dsseEnvelope.payloadType,
    payload: Buffer.from(bundle.dsseEnvelope.payload, 'base64'),
    signatures: bundle.dsseEnvelope.signatures.map((s) => ({ sig: Buffer.from(s.sig, 'base64') })),
  };
  const body = dsseEntry({ envelope, verifiers: [{ certificate: certificateDer, keyDetails: 'PKIX_ECDSA_P256_SHA_256' }] });
  const origin = logOrigin(BASE_URL);
  const store = new MemoryHashStore();
  for (let i = 0; i < 41; i++) store.append(hashLeaf(Buffer.from(`earlier ${i}`)));
  const logIndex = store.append(body.leafHash);
  const checkpoint = { origin, size: store.size, root: store.root(), extensions: [] };
  const checkpointEnvelope = signCheckpoint(checkpoint, ed25519NoteSigner(origin, logKey.privateKey));
  const logId = keyHash(origin, SIG_TYPE_ED25519, ed25519PublicKeyBytes(logKey.publicKey));
  const item = buildTlogEntry({ body: body.bytes, logIndex, proof: inclusionProof(logIndex, store.size, store), checkpoint: { checkpoint, envelope: checkpointEnvelope }, logId });
  const withEntry: SerializedBundleJson = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [item] } };
  return { withEntry, item, logKey, logId, envelope };
}

function stockVerify(bundle: unknown, root: unknown): string {
  try {
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)), { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 });
    verifier.verify(toSignedEntity(bundleFromJSON(bundle)));
    return 'verified';
  } catch (e) {
    if (e instanceof VerificationError) return e.code;
    throw e;
  }
}

describe('when a stock Sigstore verifier checks a Sigil certificate bundle with a log entry', () => {
  it('verifies it given the organisation trusted root with the log listed, and threshold 1', async () => {
    const { bundle, orgRoot, certificateDer } = await signedWorld();
    const { withEntry, item, logKey, logId, envelope } = logged(bundle, certificateDer);
    const root = { ...orgRoot, tlogs: [transparencyLogInstance({ baseUrl: BASE_URL, publicKey: logKey.publicKey, validFrom: new Date(Date.now() - 60_000) })] };
    expect(stockVerify(withEntry, root)).toBe('verified');
    // Sigil's own entry check agrees, and ties the entry to this envelope.
    const ours = verifyTlogEntry(item, { logVerifier: ed25519NoteVerifier(logOrigin(BASE_URL), logKey.publicKey), logId });
    checkEntryForEnvelope(ours.entry, envelope);
  });

  it('counts the entry: without it, or with the log missing from the root, threshold 1 refuses', async () => {
    const { bundle, orgRoot, certificateDer } = await signedWorld();
    const { withEntry, logKey } = logged(bundle, certificateDer);
    const root = { ...orgRoot, tlogs: [transparencyLogInstance({ baseUrl: BASE_URL, publicKey: logKey.publicKey, validFrom: new Date(Date.now() - 60_000) })] };
    expect(stockVerify({ ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } }, root)).toBe('TLOG_ERROR');
    expect(stockVerify(withEntry, orgRoot)).toBe('TLOG_INCLUSION_PROOF_ERROR');
  });
});
