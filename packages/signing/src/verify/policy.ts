import { z } from 'zod';
import { MAX_PEM_BYTES } from '../keys.js';
import { TrustedRootJson } from '../trusted-root.js';
import { deferSchema } from '@sigil/manifest';

/** A `SHA256:<base64>` fingerprint (unpadded), as made by `publicKeyFingerprint`/`certificateFingerprint`. */
export const Fingerprint = deferSchema(() => z.string().regex(FINGERPRINT_PATTERN, 'expected "SHA256:" and 43 base64 characters'));
/** @internal The Fingerprint rule, shared with the plain policy test (resolver). */
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * A certificate identity: the one SAN of a leaf certificate, written `mailto:<email>` for an
 * email SAN or as the `https://` URI for a URI SAN. Matched exactly, never as a pattern.
 */
export const CertificateIdentity = deferSchema(() => z.string().max(1024).regex(IDENTITY_PATTERN, 'expected mailto:<email> or an https:// URI'));
/** @internal The CertificateIdentity rule (at most 1,024 characters besides), shared with the plain policy test (resolver). */
export const IDENTITY_PATTERN = /^(mailto:[^\s@/:]+@[A-Za-z0-9.-]+|https:\/\/[^\s]+)$/;

/** One allowed certificate signer: an exact identity, optionally only under one CA of the trusted root. */
export const AllowedIdentity = deferSchema(() => z.strictObject({
  identity: CertificateIdentity,
  /** Fingerprint of a CA certificate (root or intermediate) the leaf must chain to; any CA of the trusted root when absent. */
  ca: Fingerprint.optional(),
}));
export type AllowedIdentity = z.infer<typeof AllowedIdentity>;

/**
 * Who may sign, for one purpose (publishing a namespace, approving, building). A bundle passes
 * when its signing key is one of `publicKeys`, or when its certificate chains to a CA of
 * `trustedRoot` at a time proven by a timestamp from a TSA of `trustedRoot`, and its SAN equals
 * one of `identities` exactly. Empty lists allow nobody (fail closed).
 * @example
 * const policy = SignerPolicy.parse({
 *   publicKeys: [readFileSync('acme.pub', 'utf8')],
 *   identities: [{ identity: 'mailto:release@acme.example', ca: 'SHA256:…' }],
 *   trustedRoot: JSON.parse(readFileSync('trusted_root.json', 'utf8')),
 * });
 */
export const SignerPolicy = deferSchema(() => z.strictObject({
  /** SPKI PEM public keys (ECDSA P-256). */
  publicKeys: z.array(z.string().min(1).max(MAX_PEM_BYTES)).max(256).default([]),
  identities: z.array(AllowedIdentity).max(256).default([]),
  /** CAs and TSAs (a Sigstore trusted_root.json); TSAs here also count for key-signed bundles that carry a timestamp. */
  trustedRoot: TrustedRootJson.optional(),
}));
export type SignerPolicy = z.infer<typeof SignerPolicy>;
/** What callers may write before defaults apply. */
export type SignerPolicyInput = z.input<typeof SignerPolicy>;

/** Provenance policy: who may sign the provenance and which builders are accepted. */
export const ProvenancePolicy = deferSchema(() => z.strictObject({
  signers: SignerPolicy,
  /** Exact SLSA `runDetails.builder.id` values accepted. */
  builderIds: z.array(z.string().min(1).max(2048)).min(1).max(64),
}));
export type ProvenancePolicy = z.infer<typeof ProvenancePolicy>;

/** Escapes a string for use inside a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * An anchored, escaped pattern matching exactly `identity`: @sigstore/verify treats a policy SAN
 * as an unanchored regular expression, so a bare string would also accept look-alikes.
 * @example exactIdentityPattern('mailto:a@b.example') // '^mailto:a@b\\.example$'
 */
export function exactIdentityPattern(identity: string): string {
  return `^${escapeRegExp(identity)}$`;
}
