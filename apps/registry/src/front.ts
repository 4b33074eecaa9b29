import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AuthFailureLog } from './auth-failures.js';
import { TrustedProxies } from './client-address.js';
import type { Deps } from './deps.js';
import { ERROR_STATUS, PROBLEM_TYPE_BASE } from './errors.js';
import { RateLimiter, type Limiter } from './rate-limit.js';

/**
 * What every response gets whichever path answers it (the Hono app, or the read hot path in
 * fast-reads.ts): the same rate limiters, request ids, security headers and metrics. Made once
 * per app and shared, so a client cannot double its rate limit by alternating paths.
 */
export interface Front {
  perAddress: Limiter;
  perToken: Limiter;
  trustedProxies: TrustedProxies;
  authFailures: AuthFailureLog;
  /**
   * The rate-limit hits the read hot path already made for a request it then passed on to the
   * Hono app, which takes them instead of counting again: every request is counted once, at
   * once (before any await, so concurrent requests cannot all pass one check), whichever path
   * answers it.
   */
  counted: WeakMap<IncomingMessage, Counted>;
}

/** Seconds to wait (0: within the limit) from the hits already made, per limiter (a promise from a shared store). */
export interface Counted {
  address: number | Promise<number>;
  token?: { key: string; wait: number | Promise<number> } | undefined;
}

/** In-process counters unless `limiters` are given (shared ones, when several instances run). */
export function createFront(deps: Deps, limiters?: { perAddress: Limiter; perToken: Limiter }): Front {
  return {
    perAddress: limiters?.perAddress ?? new RateLimiter(deps.settings.rateLimitPerAddress),
    perToken: limiters?.perToken ?? new RateLimiter(deps.settings.rateLimitPerToken),
    trustedProxies: new TrustedProxies(deps.settings.trustedProxies),
    authFailures: new AuthFailureLog(deps.logger, deps.metrics),
    counted: new WeakMap(),
  };
}

/**
 * Security headers on every response, as hono/secure-headers set them (its defaults with
 * `crossOriginResourcePolicy: same-origin` and this CSP, which the /docs page needs): one table
 * for both paths, so they cannot drift apart.
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"],
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=15552000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
];

const REQUEST_ID = /^[\w\-=]{1,64}$/;

/** The caller's `X-Request-Id` when it is short and plain (as hono/request-id accepts it), else a new UUID. */
export function requestIdOf(header: string | undefined): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Whether `rawHeaders` repeat a header that Node keeps only the first line of in `req.headers`
 * (Authorization, Content-Type, User-Agent) while the Hono app reads every line, joined with ", "
 * (@hono/node-server): two Authorization lines are a malformed token to the app (401), two
 * Content-Type lines an unsupported type (415). A hot path that read the first line alone would
 * answer 200 where the app refuses (and log another User-Agent), so it steps aside instead.
 * A loop over the raw lines, names compared by length first: no object is built.
 */
export function repeatsFirstLineHeader(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const bit =
      name.length === 13 && name.toLowerCase() === 'authorization' ? 1 : name.length === 12 && name.toLowerCase() === 'content-type' ? 2 : name.length === 10 && name.toLowerCase() === 'user-agent' ? 4 : 0;
    if (bit === 0) continue;
    if (seen & bit) return true;
    seen |= bit;
  }
  return false;
}

/** A refusal made before any route saw the request: problem+json with a new request id and the security headers, counted and logged. */
function transportRefusal(deps: Deps, code: 'BAD_REQUEST' | 'HEADERS_TOO_LARGE', detail: string, reason: string): { status: number; body: string; headers: Array<[string, string]> } {
  const requestId = randomUUID();
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`, title: code, status, detail, code, requestId });
  deps.metrics.refusals.inc({ code });
  if (deps.logger.isLevelEnabled('info')) deps.logger.info({ requestId, status, route: 'unmatched', reason }, 'request');
  return { status, body, headers: [['content-type', 'application/problem+json'], ...SECURITY_HEADERS.map(([name, value]): [string, string] => [name, value]), ['x-request-id', requestId]] };
}

/**
 * The answer to a request @hono/node-server cannot make a URL of, so the app never sees it (a
 * Host header such as `user@host` or with a port over 65535, a backslash in the path, an
 * absolute target that does not parse): its `errorHandler`. Without it that is a bare 400, with
 * none of what every other answer carries; here it is the app's refusal, BAD_REQUEST as
 * problem+json with a new request id and the security headers, counted with the refusals and
 * logged. Nothing of the request is known here (node-server hands over only the error).
 */
export function unreadableRequest(deps: Deps): (error: unknown) => Response {
  return (error) => {
    const r = transportRefusal(deps, 'BAD_REQUEST', 'the request target or its Host header is not a URL this registry can read', error instanceof Error ? error.message : String(error));
    return new Response(r.body, { status: r.status, headers: r.headers });
  };
}

/**
 * HTTP/1.1 requires a Host header (RFC 9112, section 3.2: a server answers 400 to a request
 * without one). Node checks it before any listener and answers a bare 400 (`requireHostHeader`,
 * turned off in main.ts, where this wraps the listener); here it is refused as every other
 * request no URL can be made of. HTTP/1.0 may leave it out.
 */
export function hostRequired(deps: Deps, listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Node keeps the first `maxHeadersCount` header lines (main.ts: MAX_HEADER_FIELDS + 1) and drops
    // the rest without a word: an Authorization after them was read as no token at all.
    const tooMany = req.rawHeaders.length / 2 > MAX_HEADER_FIELDS;
    if (!tooMany && (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor === 0)) return listener(req, res);
    const r = tooMany
      ? transportRefusal(deps, 'HEADERS_TOO_LARGE', `the request has more than ${MAX_HEADER_FIELDS} header fields; this registry reads at most ${MAX_HEADER_FIELDS}`, 'too many header fields')
      : transportRefusal(deps, 'BAD_REQUEST', 'an HTTP/1.1 request names the host it is for in a Host header (RFC 9112); this one has none', 'no Host header');
    for (const [name, value] of r.headers) res.setHeader(name, value);
    res.setHeader('content-length', Buffer.byteLength(r.body));
    res.writeHead(r.status).end(r.body);
  };
}

/** Most header fields a request may have (Node's `maxHeadersCount` is set one above, so one more shows). */
export const MAX_HEADER_FIELDS = 100;

const REASONS: Record<number, string> = { 400: 'Bad Request', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/**
 * The server's `clientError` handler: a request Node's HTTP parser refuses before any listener
 * runs (a byte outside ASCII or a space in the target, a malformed header line, a request line
 * and headers over Node's 16 KiB, a chunk extension too long). Node's own handler answers those
 * with a bare 400 or 431, with no body, request id or security headers; here they are refusals
 * like the app's: 431 HEADERS_TOO_LARGE, else 400 BAD_REQUEST (a chunk extension too long too,
 * where Node says 413: it is framing, and 400 is a status every operation documents, a GET
 * with a chunked body included). As in
 * Node's handler, a socket already reset or answering is closed without a word, and a request
 * timeout keeps Node's 408.
 */
export function unparsableRequest(deps: Deps): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (error.code === 'ECONNRESET' || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    // Written, then the connection closed once it is flushed, as Node's handler does: a client
    // still sending (a slow one past the header timeout) cannot hold the socket open.
    const close = (text: string) => socket.end(text, () => socket.destroy());
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      close('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    const r =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? transportRefusal(deps, 'HEADERS_TOO_LARGE', 'the request line and headers are larger than this registry reads (16 KiB, and at most 100 header fields)', error.code)
        : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? transportRefusal(deps, 'BAD_REQUEST', 'a chunk extension of the body is longer than this registry reads (16 KiB)', error.code)
          : transportRefusal(deps, 'BAD_REQUEST', 'the request is not HTTP/1.1 this registry can parse (its target, a header line or its framing)', error.code ?? error.message);
    const head = [`HTTP/1.1 ${r.status} ${REASONS[r.status]}`, ...r.headers.map(([name, value]) => `${name}: ${value}`), `content-length: ${Buffer.byteLength(r.body)}`, 'connection: close'];
    close(`${head.join('\r\n')}\r\n\r\n${r.body}`);
  };
}
