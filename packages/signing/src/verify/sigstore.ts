import { createHash } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity, type Signer } from '@sigstore/verify';
import { z } from 'zod';
import { SigningError } from '../errors.js';
import { toPublicKey } from '../keys.js';
import { IN_TOTO_PAYLOAD_TYPE, Statement } from '../statements.js';
import { parseTrustedRoot } from '../trusted-root.js';
import { readBundle, type BundleInput } from './bundle.js';
import { parseStatement } from './attestations.js';
import { exactIdentityPattern } from './policy.js';
import { deferSchema } from '@sigil/manifest';

/** What general Sigstore verification proved. */
export interface VerifiedSigstoreBundle {
  /** Certificate SAN (Fulcio: the workflow or email), when signed with a certificate. */
  identity?: string;
  /** OIDC issuer recorded in a Fulcio certificate. */
  issuer?: string;
  /** DSSE payload type and exact payload bytes, for envelope bundles. */
  payloadType?: string;
  payload?: Buffer;
}

/** Options for {@link verifySigstoreBundle}. */
export interface SigstoreVerifyOptions {
  /** A Sigstore trusted_root.json (e.g. the public-good root @sigstore/tuf ships). */
  trustedRoot: unknown;
  /** The signed artifact: required for message-signature bundles; for an in-toto DSSE bundle, one subject must carry its sha256. */
  artifact?: Uint8Array;
  /** A managed public key (PEM) instead of a certificate. */
  publicKey?: string;
  /** Exact identity required of a certificate signer: SAN and, when given, OIDC issuer. */
  identity?: { subjectAlternativeName: string; issuer?: string };
}

/**
 * General Sigstore bundle verification (any version, transparency log, CT and timestamps with
 * the library defaults), offline. This is the path for public-good signatures such as npm
 * provenance; Sigil's own attestations use the stricter `verifyManifestBundle` and friends.
 * @example
 * verifySigstoreBundle(bundleJson, { trustedRoot, identity: { subjectAlternativeName: 'https://github.com/o/r/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' } });
 * @throws SigningError `BUNDLE_INVALID`, `SIGNATURE_INVALID`, `SIGNER_UNTRUSTED`, `POLICY_INVALID`
 */
export function verifySigstoreBundle(input: BundleInput, options: SigstoreVerifyOptions): VerifiedSigstoreBundle {
  const { json } = readBundle(input);
  const root = parseTrustedRoot(options.trustedRoot);
  let bundle: Bundle;
  let entity: SignedEntity;
  try {
    bundle = bundleFromJSON(json);
    entity = toSignedEntity(bundle, options.artifact ? Buffer.from(options.artifact) : undefined);
  } catch (cause) {
    throw new SigningError('BUNDLE_INVALID', `not a valid Sigstore bundle: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  if (bundle.content.$case === 'dsseEnvelope' && bundle.content.dsseEnvelope.signatures.length !== 1) {
    throw new SigningError('SIGNATURE_INVALID', 'the DSSE envelope must carry exactly one signature');
  }
  if (bundle.content.$case === 'messageSignature' && !options.artifact) throw new SigningError('BUNDLE_INVALID', 'a message-signature bundle needs the artifact');
  const key = options.publicKey ? toPublicKey(options.publicKey) : undefined;
  if (entity.key.$case === 'public-key' && !key) throw new SigningError('SIGNER_UNTRUSTED', 'the bundle is signed with a key and no public key was given');
  if (entity.key.$case === 'certificate' && key) throw new SigningError('SIGNER_UNTRUSTED', 'a public key was given but the bundle is signed with a certificate');
  let signer: Signer;
  try {
    const material = toTrustMaterial(root.message, () => ({ publicKey: key!, validFor: () => true }));
    const policy = options.identity
      ? { subjectAlternativeName: exactIdentityPattern(options.identity.subjectAlternativeName), ...(options.identity.issuer ? { extensions: { issuer: options.identity.issuer } } : {}) }
      : undefined;
    signer = new Verifier(material).verify(entity, policy);
  } catch (cause) {
    const code = (cause as { name?: string })?.name === 'PolicyError' ? 'SIGNER_UNTRUSTED' : 'SIGNATURE_INVALID';
    throw new SigningError(code, `the Sigstore bundle does not verify: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  if (entity.key.$case === 'certificate' && !options.identity) {
    // Without an identity policy any Fulcio certificate would pass: refuse, fail closed.
    throw new SigningError('SIGNER_UNTRUSTED', 'no certificate identity was required; give the expected identity');
  }
  const result: VerifiedSigstoreBundle = {};
  if (signer.identity?.subjectAlternativeName) result.identity = signer.identity.subjectAlternativeName;
  if (signer.identity?.extensions?.issuer) result.issuer = signer.identity.extensions.issuer;
  if (bundle.content.$case === 'dsseEnvelope') {
    result.payloadType = bundle.content.dsseEnvelope.payloadType;
    result.payload = Buffer.from(bundle.content.dsseEnvelope.payload);
    if (options.artifact) {
      if (result.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new SigningError('STATEMENT_INVALID', 'an artifact was given but the envelope is not an in-toto statement');
      const sha256 = createHash('sha256').update(options.artifact).digest('hex');
      if (!parseStatement(result.payload).subject.some((s) => s.digest.sha256 === sha256)) throw new SigningError('SUBJECT_MISMATCH', 'no subject of the statement is the artifact');
    }
  }
  return result;
}

/** npm published early attestations as in-toto Statement v0.1; the fields we read are the same. */
const NpmStatement = deferSchema(() => Statement.extend({ _type: z.enum(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']) })) as unknown as z.ZodType<Statement>;

const NpmIntegrity = deferSchema(() => z.string().regex(/^sha512-[A-Za-z0-9+/]{86}==$/, 'expected an npm sha512 integrity string'));

/**
 * Verifies npm provenance (or any in-toto attestation npm publishes) for one package version,
 * offline: the Sigstore bundle, the signer identity, and that the statement's subject is
 * `pkg:npm/<name>@<version>` with the tarball's sha512.
 * @example
 * verifyNpmProvenance(bundle, { name: 'sigstore', version: '2.1.0', integrity: 'sha512-kPIj…' }, {
 *   trustedRoot, identity: { subjectAlternativeName: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' },
 * });
 * @throws SigningError `SUBJECT_MISMATCH`, `NAME_MISMATCH`, `STATEMENT_INVALID`, or as {@link verifySigstoreBundle}
 */
export function verifyNpmProvenance(
  input: BundleInput,
  pkg: { name: string; version: string; tarball?: Uint8Array; integrity?: string },
  options: Omit<SigstoreVerifyOptions, 'artifact'>,
): VerifiedSigstoreBundle & { predicateType: string; predicate: Record<string, unknown> } {
  let sha512: string;
  if (pkg.tarball) sha512 = createHash('sha512').update(pkg.tarball).digest('hex');
  else if (pkg.integrity && NpmIntegrity.safeParse(pkg.integrity).success) sha512 = Buffer.from(pkg.integrity.slice('sha512-'.length), 'base64').toString('hex');
  else throw new SigningError('SUBJECT_MISMATCH', 'give the package tarball or its sha512 integrity');
  const verified = verifySigstoreBundle(input, options);
  if (verified.payloadType !== IN_TOTO_PAYLOAD_TYPE || !verified.payload) throw new SigningError('STATEMENT_INVALID', 'the npm attestation is not an in-toto DSSE envelope');
  const statement = parseStatement(verified.payload, NpmStatement);
  const purl = `pkg:npm/${pkg.name.replace(/^@/, '%40')}@${pkg.version}`;
  const subject = statement.subject.find((s) => s.name === purl);
  if (!subject) throw new SigningError('NAME_MISMATCH', `the attestation is not about ${purl}`);
  if (statement.subject.length !== 1) throw new SigningError('SUBJECT_MISMATCH', 'the attestation has more than one subject');
  if (subject.digest.sha512 !== sha512) throw new SigningError('SUBJECT_MISMATCH', `the attested sha512 is not the tarball's for ${purl}`);
  return { ...verified, predicateType: statement.predicateType, predicate: statement.predicate };
}
