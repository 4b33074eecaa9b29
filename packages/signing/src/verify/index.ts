/**
 * `@sigil/signing/verify`: everything a host or the registry needs to verify Sigil bundles.
 * Loads no signing code and no node-forge.
 */
export { SigningError, contractCode, type SigningErrorCode } from '../errors.js';
export { certificateChainPem, certificateFingerprint, MAX_PEM_BYTES, publicKeyFingerprint, publicKeyPem } from '../keys.js';
export {
  APPROVAL_PREDICATE_TYPE,
  ApprovalDecision,
  ApprovalPredicate,
  IN_TOTO_PAYLOAD_TYPE,
  MANIFEST_PREDICATE_TYPE,
  ManifestPredicate,
  RiskLevel,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  Statement,
  STATEMENT_LIMITS,
  STATEMENT_TYPE,
  StatementSubject,
  MAX_STATUS_BATCH_LEAVES,
  STATUS_BATCH_PREDICATE_TYPE,
  STATUS_BATCH_SUBJECT,
  STATUS_PREDICATE_TYPE,
  StatusBatchPredicate,
  statementSubject,
  type SubjectRef,
} from '../statements.js';
export { SlsaProvenancePredicate } from '../provenance-predicate.js';
export { buildTrustedRoot, parseTrustedRoot, plainTrustedRoot, TRUSTED_ROOT_MEDIA_TYPE, TrustedRootJson, type AuthorityInput } from '../trusted-root.js';
export { AllowedIdentity, CertificateIdentity, exactIdentityPattern, Fingerprint, FINGERPRINT_PATTERN, IDENTITY_PATTERN, ProvenancePolicy, SignerPolicy, type SignerPolicyInput } from './policy.js';
export { BUNDLE_V03_MEDIA_TYPES, VERIFIER_VERSION, type BundleInput } from './bundle.js';
export type { VerifiedEnvelope, VerifiedSigner } from './types.js';
export { MAX_LOG_ENTRIES, type TrustedLog, trustedLogs, type VerifiedLogEntry, verifyLogEntries } from './log.js';
export { MIN_SEAL_KEY_BYTES, SerializedCacheEntry, VerificationCache, VERIFIER_DEPENDENCIES } from './cache.js';
export { DeferredSignatures } from './deferred.js';
export {
  parseStatement,
  sameRepository,
  verifyApprovalBundle,
  verifyManifestBundle,
  verifyManifestSubject,
  type ManifestSubject,
  verifyProvenanceBundle,
  verifyStatementBundle,
  type VerifiedStatement,
  type VerifyOptions,
} from './attestations.js';
export { verifyNpmProvenance, verifySigstoreBundle, type SigstoreVerifyOptions, type VerifiedSigstoreBundle } from './sigstore.js';
export { type BatchedStatement, verifyBatchedStatement } from './batch.js';
