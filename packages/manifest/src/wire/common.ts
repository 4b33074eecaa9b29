import { z } from 'zod';
import { deferSchema } from '../defer-schema.js';

/** A Sigstore bundle (JSON, media type v0.3), carried opaquely on the wire and verified by @sigil/signing. */
export const BundleJson = deferSchema(() => z.record(z.string(), z.unknown()));
export type BundleJson = z.infer<typeof BundleJson>;

/** Review status of a published version. */
export const VersionStatus = deferSchema(() => z.enum(['pending', 'approved', 'rejected', 'revoked']));
export type VersionStatus = z.infer<typeof VersionStatus>;

/** Risk as the registry computes it: high when any tool is not declared read-only or any lint finding is a warning. */
export const RiskLevel = deferSchema(() => z.enum(['low', 'high']));
export type RiskLevel = z.infer<typeof RiskLevel>;

/** RFC 3339 UTC timestamp. */
export const Timestamp = deferSchema(() => z.iso.datetime({ offset: false }));
/**
 * @internal The Timestamp schema's whole test, as a RegExp, for the plain tests that spare zod:
 * zod's own date-time pattern for `z.iso.datetime({ offset: false })` (leap days included), written
 * out so that nothing of zod runs at load; common.test.ts checks it is the schema's.
 */
export const TIMESTAMP_PATTERN =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z))$/;
