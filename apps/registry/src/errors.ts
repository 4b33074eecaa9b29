import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code the registry answers with, and its HTTP status (CONTRACT.md "Error codes"). */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NAMESPACE_NOT_ALLOWED: 403,
  SIGNER_NOT_ALLOWED: 403,
  SELF_APPROVAL: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VERSION_EXISTS: 409,
  ALREADY_DECIDED: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  NAME_INVALID: 422,
  VERSION_INVALID: 422,
  MANIFEST_INVALID: 422,
  MANIFEST_TOO_LARGE: 422,
  SIGNATURE_INVALID: 422,
  SUBJECT_MISMATCH: 422,
  PROVENANCE_INVALID: 422,
  LINT_BLOCKED: 422,
  NAME_CONFUSABLE: 422,
  REQUEST_INVALID: 422,
  APPROVAL_INVALID: 422,
  TIMESTAMP_INVALID: 400,
  RATE_LIMITED: 429,
  PENDING_LIMIT: 429,
  INTERNAL: 500,
  NOT_READY: 503,
  RATE_LIMIT_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;
export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * A refusal by a service or a middleware: a stable code, a sentence for people, and optional
 * data (findings, the name a look-alike resembles…). Services throw it; one handler maps it.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const PROBLEM_TYPE_BASE = 'https://sigil.dev/problems/';

/** RFC 9457 problem+json body. */
export function problem(c: Context, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  const status = ERROR_STATUS[code];
  const requestId = (c.get('requestId' as never) as string | undefined) ?? 'unknown';
  const body: Record<string, unknown> = { type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`, title: code, status, detail, code, requestId, instance: c.req.path, ...extra };
  // The official MCP registry API's error shape is { error: <sentence> }: a host reading v0.1 finds it there too.
  if (c.req.path.startsWith('/v0.1/')) body.error = detail;
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json', ...headers } });
}
