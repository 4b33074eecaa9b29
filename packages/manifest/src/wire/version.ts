import { z } from 'zod';
import { Digest, Manifest, ServerName, Version } from '../schema.js';
import { BundleJson, RiskLevel, Timestamp, VersionStatus } from './common.js';
import { deferSchema } from '../defer-schema.js';

/** One approval as the registry stores and serves it. */
export const ApprovalRecord = deferSchema(() => z.strictObject({
  /** `sha256:<hex>` of the approval bundle (the approval digest hosts pin). */
  digest: Digest,
  /** The registered reviewer principal who posted it. */
  reviewer: z.string().min(1).max(256),
  bundle: BundleJson,
  createdAt: Timestamp,
}));
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

/** The verified signer of a bundle, as the registry recorded it at publish. */
export const SignerRecord = deferSchema(() => z.strictObject({
  kind: z.enum(['key', 'certificate']),
  /** `SHA256:<base64>` of the signing key. */
  keyFingerprint: z.string().min(1).max(128),
  /** Certificate identity (SAN) for certificate signers. */
  identity: z.string().min(1).max(1024).optional(),
}));
export type SignerRecord = z.infer<typeof SignerRecord>;

/**
 * `GET /v1/servers/{namespace}/{name}/versions/{version}`: one published version, everything a
 * host needs to verify it again itself (it trusts none of the registry's own verdicts but the
 * signed status). Not signed itself, so unknown fields are dropped rather than refused: a
 * newer registry may add fields without breaking older hosts.
 */
export const VersionRecord = deferSchema(() => z.object({
  name: ServerName,
  version: Version,
  digest: Digest,
  toolsDigest: Digest,
  manifest: Manifest,
  status: VersionStatus,
  risk: RiskLevel,
  publisher: z.string().min(1).max(256),
  signer: SignerRecord,
  publishedAt: Timestamp,
  /** The publisher's manifest statement bundle. */
  bundle: BundleJson,
  provenance: BundleJson.optional(),
  approvals: z.array(ApprovalRecord).max(64),
  rejection: z.strictObject({ reason: z.string().max(4096), by: z.string().max(256), at: Timestamp }).optional(),
  revocation: z.strictObject({ reason: z.string().max(4096), by: z.string().max(256), at: Timestamp }).optional(),
}));
export type VersionRecord = z.infer<typeof VersionRecord>;
