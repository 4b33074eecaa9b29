import { z } from 'zod';

/** A Sigstore bundle (JSON, media type v0.3), carried opaquely on the wire and verified by @sigil/signing. */
export const BundleJson = z.record(z.string(), z.unknown());
export type BundleJson = z.infer<typeof BundleJson>;

/** Review status of a published version. */
export const VersionStatus = z.enum(['pending', 'approved', 'rejected', 'revoked']);
export type VersionStatus = z.infer<typeof VersionStatus>;

/** Risk as the registry computes it: high when any tool is not declared read-only or any lint finding is a warning. */
export const RiskLevel = z.enum(['low', 'high']);
export type RiskLevel = z.infer<typeof RiskLevel>;

/** RFC 3339 UTC timestamp. */
export const Timestamp = z.iso.datetime({ offset: false });
