import type { VerifiedLogEntry } from './log.js';

/** Who signed, as proven by the verification. */
export type VerifiedSigner =
  | {
      kind: 'key';
      /** `SHA256:<base64>` of the signing key. */
      keyFingerprint: string;
    }
  | {
      kind: 'certificate';
      /** The leaf's one SAN: `mailto:<email>` or an `https://` URI. */
      identity: string;
      /** `SHA256:<base64>` of the leaf's key. */
      keyFingerprint: string;
      /** Fingerprint of the CA certificate that issued the leaf. */
      ca: string;
      /** Fingerprints of the whole trusted CA chain, issuing CA first. */
      caChain: string[];
      /** When a trusted TSA saw the signature (ISO 8601); the leaf was valid then. */
      signedAt: string;
    };

/** The outcome of the cryptographic part: independent of subject and predicate checks. */
export interface VerifiedEnvelope {
  signer: VerifiedSigner;
  /** The exact payload bytes the signature covers. */
  payload: Buffer;
  payloadType: string;
  /** `sha256:<hex>` of the bundle (its bytes as received, or canonical JSON when given parsed). */
  bundleDigest: string;
  /** The transparency log entries that verified against the trusted root's logs, when any. */
  log?: VerifiedLogEntry[];
}
