import type { TLSSocket } from 'node:tls';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { Problem, scanJson, stringFindings } from '@sigil/manifest';
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import type { Deps, Principal, Role } from '../deps.js';
import { ServiceError } from '../errors.js';
import type { TrustedProxies } from '../client-address.js';
import { caller, MAX_BODY_DEPTH, type Env } from '../http.js';
import { publicOrigin } from '../public-origin.js';

/**
 * Shared pieces of every route: the router with the one validation hook, the body reader run
 * before zod sees a body, the documented refusals, and the security requirements.
 */

/** A router whose request validation failures become REQUEST_INVALID refusals with their issues. */
export function router(): OpenAPIHono<Env> {
  return new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (result.success) return;
      const issues = result.error.issues.slice(0, 20).map((i) => ({ path: `/${i.path.map(String).join('/')}`, message: i.message }));
      const where = result.target === 'json' ? 'the body' : `the ${result.target === 'param' ? 'path' : result.target}`;
      throw new ServiceError('REQUEST_INVALID', `${where} is invalid at ${issues[0]?.path}: ${issues[0]?.message}`, { issues });
    },
  });
}

/**
 * A JSON body as the route's own media-type check takes one (@hono/zod-openapi's gate before the
 * validator, `jsonRequestRegex` there; stricter than hono/validator's, so both agree): the whole
 * Content-Type, any case, `application/json` or `application/<letters . ->+json`, then only
 * `;name=value` parameters (no space before a `;`, none empty). Any other type is 415 here,
 * before the body is read: a looser test once let `application/json-seq` through to a validator
 * that read no body, and later `application/json ; charset=utf-8` through to the gate, whose own
 * 415 the error handler answered as a 500 (while the status hot path, which uses this test too,
 * answered 200).
 */
const JSON_CONTENT_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-z0-9-]+=[^;]+)*$/i;
export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_CONTENT_TYPE.test(contentType);
}

/**
 * Runs before the zod validator of a JSON body: the content type (415), the nesting depth on the
 * raw text before anything parses it (413), duplicate keys (422), and JSON syntax (400). Hono keeps the text, so the
 * validator parses the same bytes without reading the stream again.
 */
export const jsonBody: MiddlewareHandler<Env> = async (c, next) => {
  if (!isJsonMediaType(c.req.header('content-type'))) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  // The bytes, decoded here strictly; Hono keeps them for the validator, which reads them again.
  checkJsonText(bodyText(new Uint8Array(await c.req.arrayBuffer())));
  await next();
};

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A JSON body's bytes as text, refusing bytes that are not UTF-8 (422 `REQUEST_INVALID`): a
 * lenient decoder would store U+FFFD in their place, so what was signed, audited or shown would not
 * be what was sent, and JSON exchanged between systems is UTF-8 (RFC 8259, 8.1).
 */
export function bodyText(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ServiceError('REQUEST_INVALID', 'the body is not UTF-8; JSON is exchanged as UTF-8 (RFC 8259), and bytes that are not would be stored as something else');
  }
}

/**
 * The checks of `jsonBody` on JSON text already read: nesting depth (413), duplicate keys (422),
 * syntax (400). For a route that reads its own body (the timestamp route takes JSON or DER).
 */
export function checkJsonText(text: string): void {
  const scan = scanJson(text, MAX_BODY_DEPTH);
  const deep = scan.find((f) => f.rule === 'JSON_TOO_DEEP');
  if (deep) throw new ServiceError('PAYLOAD_TOO_LARGE', `the body nests deeper than ${MAX_BODY_DEPTH} levels`, { findings: [deep] });
  // JSON.parse keeps the last of two equal keys; another reader may keep the first. Refuse.
  const duplicates = scan.filter((f) => f.rule === 'JSON_DUPLICATE_KEY');
  if (duplicates.length) throw new ServiceError('REQUEST_INVALID', `the body repeats the key at ${duplicates[0]!.path}; every key appears once per object`, { findings: duplicates.slice(0, 20) });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError('BAD_REQUEST', 'the body is not valid JSON');
  }
  // A lone UTF-16 surrogate (only a \u escape can write one) is not I-JSON: RFC 8785 cannot
  // canonicalise it, and what the registry signs and audits is canonical JSON. Refused here, for
  // every field of every body, rather than found by the first canonicalisation (a 500).
  if (SURROGATE_ESCAPE.test(text)) {
    const lone = stringFindings(value);
    if (lone.length) throw new ServiceError('REQUEST_INVALID', `the body holds a lone UTF-16 surrogate at ${lone[0]!.path || '/'}; every string must be well-formed Unicode`, { findings: lone.slice(0, 20) });
  }
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Malformed request (BAD_REQUEST, TIMESTAMP_INVALID)',
  401: 'No valid bearer token (UNAUTHENTICATED)',
  403: 'The token may not do this (FORBIDDEN, NAMESPACE_NOT_ALLOWED, SIGNER_NOT_ALLOWED, SELF_APPROVAL)',
  404: 'No such resource (NOT_FOUND)',
  409: 'Conflicts with what is stored (VERSION_EXISTS, ALREADY_DECIDED, CONFLICT)',
  413: 'Body too large or too deep (PAYLOAD_TOO_LARGE)',
  415: 'Body is not application/json (UNSUPPORTED_MEDIA_TYPE)',
  422: 'Refused content, with a stable code (REQUEST_INVALID, NAME_INVALID, MANIFEST_INVALID, SIGNATURE_INVALID, LINT_BLOCKED, NAME_CONFUSABLE, …)',
  429: 'Rate limited (RATE_LIMITED); see Retry-After',
  431: 'The request line and headers are over 16 KiB, or there are more than 100 header fields (HEADERS_TOO_LARGE)',
  500: 'The registry failed (INTERNAL); quote the requestId',
  503: 'Not ready: the database does not answer or lacks a migration (NOT_READY), or the shared rate-limit store does not answer (RATE_LIMIT_UNAVAILABLE; see Retry-After)',
};

const problemContent = { 'application/problem+json': { schema: Problem } };

/**
 * The refusals an operation can answer with, each an RFC 9457 problem with a stable `code`. Every
 * operation can be refused 400 and 431 before any route runs (a request HTTP cannot parse, or
 * whose headers are too large: front.ts), 429, 500 and 503.
 */
export function problems(...statuses: Array<400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 503>) {
  const out: Record<string, { description: string; content: typeof problemContent; headers?: typeof retryAfter }> = {};
  for (const s of [...new Set([...statuses, 400, 429, 431, 500, 503])].sort()) out[String(s)] = { description: PROBLEM_TEXT[s]!, content: problemContent, ...(s === 429 || s === 503 ? { headers: retryAfter } : {}) };
  return out as Record<'400' | '429' | '431' | '500' | '503', { description: string; content: typeof problemContent }>;
}

/** The header a 429 or 503 carries: seconds to wait before asking again (RFC 9110, 10.2.3). */
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer' as const, minimum: 0 } } };

/** Security requirements: a bearer token, or anonymous when the registry allows anonymous reads. */
type Security = Array<Record<string, string[]>>;
export const BEARER: Security = [{ bearer: [] }];
export const BEARER_OR_ANONYMOUS: Security = [{ bearer: [] }, {}];
export const NO_AUTH: Security = [];

/** Path parameters of `/v1/servers/{namespace}/{name}…`; checked in the handler for NAME_INVALID and VERSION_INVALID. */
export const ServerParams = z.object({
  namespace: z.string().openapi({ example: 'io.github.acme', description: 'The reverse-DNS namespace of the server name' }),
  name: z.string().openapi({ example: 'weather', description: 'The part of the server name after the slash' }),
});
export const VersionParams = ServerParams.extend({ version: z.string().openapi({ example: '1.2.0', description: 'An exact SemVer version' }) });

/**
 * JSON text already serialised from the database, sent as it is. Its type cannot be checked
 * here (it is text), so it stands in for the route's documented type; the route tests parse it
 * with the same schema.
 */
export function rawJson(text: string): TypedResponse<never, 200, 'json'> {
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } }) as unknown as TypedResponse<never, 200, 'json'>;
}

/**
 * Authenticates the caller and checks its role before anything reads the body: an unauthenticated
 * request learns nothing about how its body would have been judged.
 */
export function authorize(deps: Deps, roles: readonly Role[], action: string, options: { anonymous?: boolean } = {}): MiddlewareHandler<Env> {
  return async (c, next) => {
    await caller(c, deps, roles, action, options);
    await next();
  };
}

/** The principal `authorize` set for this request. */
export function principalOf(c: Context<Env>): Principal {
  const principal = c.get('principal');
  if (!principal) throw new ServiceError('UNAUTHENTICATED', 'this endpoint needs a bearer token (Authorization: Bearer <token>)');
  return principal;
}

/** A documented JSON response. */
export const json = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });

/** `publicOrigin` (public-origin.ts) of a request the Hono app reads (its socket, and its Host as node-server took it). */
export function requestOrigin(configured: string | undefined, trusted: TrustedProxies, c: Context<Env>): string {
  const socket = c.env?.incoming?.socket;
  return publicOrigin(configured, trusted, { address: socket?.remoteAddress, encrypted: (socket as TLSSocket | undefined)?.encrypted === true }, new URL(c.req.url).host, c.req.header('x-forwarded-proto'));
}
