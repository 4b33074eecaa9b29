/**
 * `@sigil/signing/sign`: keys, the organisation's own PKI, the RFC 3161 timestamp responder,
 * and signing of manifest, approval, provenance and other in-toto statements into Sigstore
 * bundles. Hosts import `@sigil/signing/verify` only.
 */
export { SigningError, contractCode, type SigningErrorCode } from '../errors.js';
export { certificateChainPem, certificateFingerprint, publicKeyFingerprint, publicKeyPem } from '../keys.js';
export { generateKeyPair, parsePrivateKey, readPrivateKey, readPublicKey, writeKeyPair, type KeyPair } from './keys.js';
export { CA_FILES, createCa, createIntermediateCa, createTsa, issueLeaf, readCa, VALIDITY_LIMITS, writeCa, type CaMaterial, type TsaMaterial } from './pki.js';
export { createSigner, loadSigner, type BundleSigner, type SerializedBundle, type SignerOptions, type TimestampSource } from './signer.js';
export { approvalSubject, signApprovalStatement, signManifestStatement, signProvenance, signStatement, type ApprovalInput, type ServedVersion } from './statements.js';
export { GITHUB_ACTIONS_BUILD_TYPE, provenanceFromGitHubActions } from './provenance.js';
export {
  createTimestampResponder,
  DEFAULT_TSA_POLICY_OID,
  MAX_TIMESTAMP_REQUEST_BYTES,
  TIMESTAMP_QUERY_CONTENT_TYPE,
  TIMESTAMP_REPLY_CONTENT_TYPE,
  type TimestampResponder,
} from './tsa.js';
export { buildTrustedRoot, TRUSTED_ROOT_MEDIA_TYPE, TrustedRootJson, type AuthorityInput } from '../trusted-root.js';
export {
  APPROVAL_PREDICATE_TYPE,
  ApprovalPredicate,
  IN_TOTO_PAYLOAD_TYPE,
  MANIFEST_PREDICATE_TYPE,
  ManifestPredicate,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  Statement,
  STATEMENT_TYPE,
  STATUS_BATCH_PREDICATE_TYPE,
  STATUS_BATCH_SUBJECT,
  STATUS_PREDICATE_TYPE,
  statementSubject,
  type SubjectRef,
} from '../statements.js';
export { SlsaProvenancePredicate } from '../provenance-predicate.js';
