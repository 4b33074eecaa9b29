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
 * @internal The Timestamp schema's whole test, as a RegExp: zod's own date-time pattern, made by
 * the same zod function with the same options (`z.iso.datetime({ offset: false })`), for the plain
 * tests that spare zod; common.test.ts checks it is the schema's.
 */
export const TIMESTAMP_PATTERN: RegExp = z.regexes.datetime({ offset: false, local: false, precision: null });
