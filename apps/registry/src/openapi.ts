import { KeysResponse, ServerRecord, StatusRequest, StatusResponse, VersionRecord } from '@sigil/manifest';
import { z } from 'zod';
import { ERROR_STATUS } from './errors.js';
import { AllowlistBody, ApprovalBody, AuditPage, CaBody, Problem, PublishBody, ReasonBody, ReviewerBody, TokenBody, TokenResponse } from './schemas.js';

type Op = {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  roles: string;
  body?: z.ZodType;
  response?: z.ZodType;
  responseType?: string;
  status?: number;
};

/** Every operation, with the zod schemas the handlers validate against: the document is generated from them. */
const OPERATIONS: Op[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', roles: 'none' },
  { method: 'get', path: '/openapi.json', summary: 'This document', roles: 'none' },
  { method: 'get', path: '/docs', summary: 'API documentation page', roles: 'none', responseType: 'text/html' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', roles: 'none', responseType: 'text/plain' },
  { method: 'get', path: '/v1/trusted-root', summary: "The registry's Sigstore trusted_root.json (organisation CAs and its TSA)", roles: 'none' },
  { method: 'get', path: '/v1/keys', summary: "The registry's status-signing key", roles: 'none', response: KeysResponse },
  { method: 'post', path: '/api/v1/timestamp', summary: 'RFC 3161 timestamp (Sigstore timestamp-authority request format, or a DER TimeStampReq)', roles: 'none', responseType: 'application/timestamp-reply' },
  { method: 'post', path: '/v1/publish', summary: 'Publish a signed manifest (201 new, 200 identical replay)', roles: 'publisher (within its namespaces), admin', body: PublishBody, response: VersionRecord, status: 201 },
  { method: 'get', path: '/v1/servers', summary: 'List servers (?search=&cursor=&limit=)', roles: 'reader+', response: z.object({ servers: z.array(z.object({ name: z.string() })), next: z.string().nullable() }) },
  { method: 'get', path: '/v1/servers/{namespace}/{name}', summary: 'Versions of a server and their status', roles: 'reader+', response: ServerRecord },
  { method: 'get', path: '/v1/servers/{namespace}/{name}/versions/{version}', summary: 'Manifest, digest, bundles, status, approvals', roles: 'reader+', response: VersionRecord },
  { method: 'get', path: '/v1/servers/{namespace}/{name}/versions/{version}/review', summary: 'Lint findings and the diff against the last approved version', roles: 'security, admin, publisher' },
  { method: 'post', path: '/v1/servers/{namespace}/{name}/versions/{version}/approvals', summary: 'Post a signed approval statement', roles: 'security (a registered reviewer)', body: ApprovalBody, response: VersionRecord, status: 201 },
  { method: 'post', path: '/v1/servers/{namespace}/{name}/versions/{version}/rejections', summary: 'Reject a pending version', roles: 'security', body: ReasonBody, response: VersionRecord, status: 201 },
  { method: 'post', path: '/v1/servers/{namespace}/{name}/versions/{version}/revocations', summary: 'Revoke a version', roles: 'security', body: ReasonBody, response: VersionRecord, status: 201 },
  { method: 'post', path: '/v1/status', summary: 'One signed, expiring status statement for the references asked', roles: 'reader+', body: StatusRequest, response: StatusResponse },
  { method: 'get', path: '/v1/reviews', summary: 'Review queue, oldest first, paged: {reviews, next} (?status=&namespace=&publisher=&risk=&cursor=&limit=)', roles: 'security, admin' },
  { method: 'get', path: '/v1/allowlist', summary: 'Allowlist entries', roles: 'admin, security' },
  { method: 'get', path: '/v1/allowlist/{pattern}', summary: 'One allowlist entry', roles: 'admin, security' },
  { method: 'put', path: '/v1/allowlist/{pattern}', summary: 'Set the signers of a namespace pattern', roles: 'admin', body: AllowlistBody },
  { method: 'delete', path: '/v1/allowlist/{pattern}', summary: 'Remove a namespace pattern', roles: 'admin', status: 204 },
  { method: 'post', path: '/v1/reviewers', summary: 'Bind a reviewer principal to a key or certificate identity', roles: 'admin', body: ReviewerBody, status: 201 },
  { method: 'post', path: '/v1/certificate-authorities', summary: 'Register an organisation CA (PEM chain)', roles: 'admin', body: CaBody, status: 201 },
  { method: 'get', path: '/v1/tokens', summary: 'Tokens issued, newest first (ids, principals, roles, expiry, revocation; never secrets)', roles: 'admin' },
  { method: 'post', path: '/v1/tokens', summary: 'Create a token (the secret is returned once)', roles: 'admin', body: TokenBody, response: TokenResponse, status: 201 },
  { method: 'delete', path: '/v1/tokens/{id}', summary: 'Revoke a token', roles: 'admin' },
  { method: 'get', path: '/v1/whoami', summary: 'The principal, role and namespaces of the calling token', roles: 'any token' },
  { method: 'get', path: '/v1/audit', summary: 'Hash-chained governance events (?after=&limit=)', roles: 'security, admin', response: AuditPage },
  { method: 'get', path: '/v1/audit/verify', summary: 'Verify the audit hash chain from the first event, and that it still holds a signed head (?seq=&hash=)', roles: 'security, admin' },
  { method: 'get', path: '/v1/log/checkpoint', summary: "The transparency log's newest signed checkpoint (C2SP tlog-checkpoint)", roles: 'reader+', responseType: 'text/plain' },
  { method: 'get', path: '/v1/log/tile/{L}/{N}', summary: 'C2SP tlog-tiles hash tile (N in x-prefixed 3-digit parts; .p/<W> for a partial tile); immutable', roles: 'reader+', responseType: 'application/octet-stream' },
  { method: 'get', path: '/v1/log/tile/entries/{N}', summary: 'C2SP tlog-tiles entry bundle (.p/<W> for a partial one); immutable', roles: 'reader+', responseType: 'application/octet-stream' },
  { method: 'get', path: '/v1/log/proof', summary: 'Inclusion proof of a leaf (?leaf=<index>|<leaf hash hex>|<name@version>&size=), with its checkpoint, the bundle tlogEntries item and, for a manifest, the bundle carrying it', roles: 'reader+' },
  { method: 'get', path: '/v1/log/consistency', summary: 'Consistency proof between two tree sizes (?from=&to=)', roles: 'reader+' },
];

const schema = (s: z.ZodType) => {
  const json = z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
};

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document, generated once from the operation table and its zod schemas. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const ok = String(op.status ?? 200);
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      description: `Roles: ${op.roles}.`,
      ...(op.roles === 'none' ? { security: [] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body) } } } } : {}),
      responses: {
        [ok]: { description: 'Success', ...(op.status === 204 ? {} : { content: { [op.responseType ?? 'application/json']: { schema: op.response ? schema(op.response) : {} } } }) },
        default: { description: 'An RFC 9457 problem with a stable code', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Sigil registry',
      version: '0.1.0',
      description: `A signed registry for MCP tools. Error codes and their HTTP statuses: ${Object.entries(ERROR_STATUS)
        .map(([c, s]) => `${c} ${s}`)
        .join(', ')}.`,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An opaque token from POST /v1/tokens (or the bootstrap token)' } },
      schemas: { Problem: schema(Problem) },
    },
    security: [{ bearer: [] }],
    paths,
  };
  return cached;
}
