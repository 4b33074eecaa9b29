import { z } from '@hono/zod-openapi';
import { BundleJson, namespacePatternProblem, StatusRequest } from '@sigil/manifest';

/** Request bodies of the registry API (responses are the wire schemas of @sigil/manifest). */
export const PublishBody = z.strictObject({ manifest: z.record(z.string(), z.unknown()), bundle: BundleJson, provenance: BundleJson.optional() });
export const ApprovalBody = z.strictObject({ bundle: BundleJson });
export const ReasonBody = z.strictObject({ reason: z.string().min(1).max(4096) });
/** The CA a certificate identity is bound to (checked against the registered CAs by the service). */
const CaField = z
  .string()
  .min(1)
  .max(128)
  .optional()
  .openapi({
    description:
      'Identities only: SHA256:<base64> fingerprint of the CA certificate (as `POST /v1/certificate-authorities` answers it) that must have issued the signer’s certificate. Left out: the registry’s only CA; refused while several CAs are registered.',
    example: 'SHA256:ZKgoIhQ2HYOl1SA6ZbHfeBr5iQH3ifQNKngXt0qUy0c',
  });
export const SignerBody = z.strictObject({ publicKey: z.string().min(1).max(8192).optional(), identity: z.string().min(1).max(1024).optional(), ca: CaField });
export const BuilderBody = z.strictObject({ builderId: z.string().min(1).max(1024), publicKey: z.string().min(1).max(8192).optional(), identity: z.string().min(1).max(1024).optional(), ca: CaField });
export const AllowlistBody = z.strictObject({ signers: z.array(SignerBody).min(1).max(64), builders: z.array(BuilderBody).max(16).optional() });
export const ReviewerBody = z.strictObject({ principal: z.string().min(1).max(128), publicKey: z.string().min(1).max(8192).optional(), identity: z.string().min(1).max(1024).optional(), ca: CaField });
export const TokenBody = z.strictObject({
  principal: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'a principal is 1-128 letters, digits and . _ @ -'),
  role: z.enum(['admin', 'security', 'publisher', 'reader']),
  namespaces: z
    .array(z.string().refine((p) => namespacePatternProblem(p) === undefined, 'not a namespace pattern'))
    .max(64)
    .optional(),
  ttlSeconds: z.number().int().min(60).max(366 * 86_400).optional(),
});
export const CaBody = z.strictObject({ certificates: z.string().min(1).max(64 * 1024) });
export { StatusRequest };
