import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { MAX_STATUS_REFS, scanJson, StatusRequest } from '@sigil/manifest';
import { clientKey } from './client-address.js';
import type { Deps, Principal } from './deps.js';
import type { NodeListener } from './fast-reads.js';
import { repeatsFirstLineHeader, requestIdOf, SECURITY_HEADERS, type Counted, type Front } from './front.js';
import { MAX_BODY_DEPTH, READ_ROLES } from './http.js';
import { publicScheme } from './public-origin.js';
import { isJsonMediaType } from './routes/kit.js';
import { authenticate } from './services/authenticate.js';
import { expectStatusQuestions, issueStatusText } from './services/issue-status.js';

/** A Host header @hono/node-server takes as it is (its own check), so the origin is the same. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const ROUTE = '/v1/status';
/** The answer's headers as the Hono app orders them; the content-length and x-request-id values (the empty strings) are set per answer in a copy. */
const HEADERS: readonly string[] = ['content-type', 'application/json', 'content-length', '', ...SECURITY_HEADERS.flat(), 'x-request-id', ''];

/**
 * `POST /v1/status` answered before Hono builds its request objects (an undici Request, a web
 * stream for the body, an AbortSignal, the validator chain: most of the CPU time of a status
 * request that is not the signature). Only a request that will succeed is answered here, with
 * what the Hono route answers (the same service, request id, security headers, rate limits,
 * metrics and log line); anything else (a refusal of any kind, CORS to negotiate, a body without
 * a Content-Length or over the limit, a repeated Authorization, Content-Type or User-Agent
 * header) goes to `fallback`, the Hono app, with the body already
 * read handed over as `rawBody` (which @hono/node-server reads instead of the spent stream), so
 * every refusal keeps its one shape. Like the read hot path (fast-reads.ts), the rate limits are
 * counted first, before any await, and a request passed on carries its counts (`front.counted`).
 * `fast-status.test.ts` compares both paths.
 */
export function fastStatus(deps: Deps, front: Front, fallback: NodeListener): NodeListener {
  const corsConfigured = deps.settings.corsOrigins.length > 0;
  const notAuthenticated = new Error('not authenticated');
  const observe = deps.metrics.observer('POST', ROUTE, 200);
  const refuse = (): never => {
    throw notAuthenticated;
  };

  /** The answer's JSON text, or undefined when the Hono app must answer (and refuse). */
  async function answer(req: IncomingMessage, body: Buffer): Promise<{ text: string; principal: Principal } | undefined> {
    // A shared store's address count: over the limit, or the store unreachable (a rejection),
    // the Hono app refuses with the same count.
    const address = front.counted.get(req)!.address;
    if (typeof address !== 'number' && (await address) > 0) return undefined;
    const host = req.headers.host;
    if (host === undefined || !PLAIN_HOST.test(host)) return undefined;
    let principal: Principal;
    try {
      const authenticating = authenticate(deps, req.headers.authorization, true, refuse);
      // After the token is asked for: its answer, at the end of this turn, comes before the batch closes.
      expectStatusQuestions(deps);
      principal = await authenticating;
    } catch {
      return undefined;
    }
    const counted = front.counted.get(req)!;
    if (principal.tokenId !== null) {
      const wait = front.perToken.hit(principal.tokenId);
      counted.token = { key: principal.tokenId, wait };
      if ((typeof wait === 'number' ? wait : await wait) > 0) return undefined;
    }
    if (!READ_ROLES.includes(principal.role)) return undefined;
    // Bytes that are not UTF-8 go to the route, which refuses them (kit.ts bodyText).
    const request = isUtf8(body) ? statusRequestOf(body.toString('utf8')) : undefined;
    if (!request) return undefined;
    // As the Hono route names it (public-origin.ts): SIGIL_PUBLIC_URL when set, else this request's.
    const forwarded = req.headers['x-forwarded-proto'];
    const origin = deps.settings.publicOrigin ?? originOf(`${publicScheme(front.trustedProxies, { address: req.socket.remoteAddress, encrypted: (req.socket as TLSSocket).encrypted === true }, typeof forwarded === 'string' ? forwarded : undefined)}://${host}`);
    return { text: await issueStatusText(deps, request.refs, request.nonce, origin, request.batch === true), principal };
  }

  // The origin URL parsing gives a Host (a plain one still normalises, `0x7f.1` is 127.0.0.1),
  // kept for the few hosts an instance is reached by.
  const origins = new Map<string, string>();
  function originOf(base: string): string {
    let origin = origins.get(base);
    if (origin === undefined) {
      if (origins.size >= 64) origins.clear();
      origin = new URL(base).origin;
      origins.set(base, origin);
    }
    return origin;
  }

  function passOn(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    fallback(req, res);
  }

  function respond(req: IncomingMessage, res: ServerResponse, body: Buffer, started: number): void {
    answer(req, body).then(
      (found) => {
        if (!found) return passOn(req, res, body);
        const id = requestIdOf(req.headers['x-request-id'] as string | undefined);
        // The text itself, not a Buffer of it: Node then writes the head and the body as one string.
        const headers = HEADERS.slice();
        headers[3] = String(Buffer.byteLength(found.text, 'utf8'));
        headers[headers.length - 1] = id;
        res.writeHead(200, headers);
        res.end(found.text, 'utf8');
        const seconds = (performance.now() - started) / 1000;
        observe(seconds);
        if (deps.logger.isLevelEnabled('info'))
          deps.logger.info(
            { requestId: id, method: 'POST', path: ROUTE, route: ROUTE, status: 200, ms: Math.round(seconds * 10_000) / 10, principal: found.principal.name, userAgent: req.headers['user-agent'] },
            'request',
          );
      },
      // A failure before the answer was written changed nothing: Hono answers (and logs) it.
      () => res.headersSent || passOn(req, res, body),
    );
  }

  return (req, res) => {
    if (req.method !== 'POST' || corsConfigured || req.url !== ROUTE) return fallback(req, res);
    const type = req.headers['content-type'];
    const length = Number(req.headers['content-length']);
    if (
      req.headers['transfer-encoding'] !== undefined ||
      !Number.isSafeInteger(length) ||
      length <= 0 ||
      length > deps.settings.bodyLimit ||
      (type !== 'application/json' && !isJsonMediaType(type)) ||
      repeatsFirstLineHeader(req.rawHeaders)
    )
      return fallback(req, res);
    const started = performance.now();
    // Counted now, before any await, in the Hono app's order (address, then token once
    // authenticated); a request passed on carries its hits (front.counted), so it is counted once.
    const counted: Counted = { address: front.perAddress.hit(clientKey(req.socket.remoteAddress, req.headers['x-forwarded-for'] as string | undefined, front.trustedProxies)) };
    front.counted.set(req, counted);
    // A shared store's count is a promise, awaited in answer() once the body is in.
    if (typeof counted.address === 'number' && counted.address > 0) return fallback(req, res);
    // An aborted upload ends here (no 'end'); without a listener its error would be thrown.
    req.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    // Node ends the body at Content-Length: once that many bytes are in, the body is whole, and
    // is answered then, without waiting for 'end' (a turn later); a shorter one is an aborted request.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size === length) respond(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), started);
    });
    req.on('end', () => {
      if (size !== length) passOn(req, res, Buffer.concat(chunks, size));
    });
  };
}

const NONCE = /^[A-Za-z0-9_-]{16,128}$/;
/** A reference JSON writes as it is: printable ASCII but `"` and `\`, within the schema's bounds. */
const PLAIN_REF = /^[\x20\x21\x23-\x5b\x5d-\x7e]{3,512}$/;

/** A `\u` escape of a UTF-16 surrogate in JSON text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * The status request in `text`, or undefined when the Hono route must answer (and refuse): the
 * checks of kit.ts `jsonBody` (nesting depth, duplicate keys, syntax), then the route's schema.
 * A body a plain test proves valid skips the scan and zod: what JSON.parse read has
 * StatusRequest's shape field by field (the only keys refs, nonce, batch; the same bounds) with
 * strings JSON writes without escapes, and the text is exactly as long as JSON.stringify's text
 * for it. No JSON text of a value is shorter than that text, and a repeated key or any space
 * would make it longer, so the text repeats no key and nests as deep as the shape (two levels).
 * Anything else goes through scanJson and zod, as before.
 */
export function statusRequestOf(text: string): StatusRequest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (text.length === plainStatusRequestLength(parsed)) return parsed as StatusRequest;
  if (scanJson(text, MAX_BODY_DEPTH).length > 0) return undefined;
  // A surrogate escape (a lone one is refused by checkJsonText, routes/kit.ts): the Hono app's.
  if (SURROGATE_ESCAPE.test(text)) return undefined;
  const request = StatusRequest.safeParse(parsed);
  return request.success ? request.data : undefined;
}

/**
 * The length of JSON.stringify's text for `value` when StatusRequest.parse would take it
 * unchanged and its strings need no escape, else -1 (`fast-status.test.ts` compares both on probes).
 */
export function plainStatusRequestLength(value: unknown): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return -1;
  let keys = 0;
  for (const key in value) {
    if (key !== 'refs' && key !== 'nonce' && key !== 'batch') return -1;
    keys += 1;
  }
  if (keys !== Object.keys(value).length) return -1;
  const { refs, nonce, batch } = value as Record<string, unknown>;
  if (!Array.isArray(refs) || refs.length < 1 || refs.length > MAX_STATUS_REFS) return -1;
  // {"refs":[...]}: the braces, the key, the brackets, each reference quoted, the commas between.
  let length = 2 + 7 + 2 + (refs.length - 1);
  for (const ref of refs as unknown[]) {
    if (typeof ref !== 'string' || !PLAIN_REF.test(ref)) return -1;
    length += ref.length + 2;
  }
  if (nonce !== undefined) {
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) return -1;
    length += 1 + 8 + nonce.length + 2; // ,"nonce":"…"
  }
  if (batch !== undefined) {
    if (typeof batch !== 'boolean') return -1;
    length += 1 + 8 + (batch ? 4 : 5); // ,"batch":true
  }
  // The schema's one rule across fields: a batched question carries a nonce.
  if (batch === true && nonce === undefined) return -1;
  return length;
}
