import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { serverNameProblem, versionProblem } from '@sigil/manifest';
import { clientKey } from './client-address.js';
import type { Deps, Principal } from './deps.js';
import { repeatsFirstLineHeader, requestIdOf, SECURITY_HEADERS, type Counted, type Front } from './front.js';
import { READ_ROLES } from './http.js';
import { publicOrigin } from './public-origin.js';
import { authenticate } from './services/authenticate.js';
import { MAX_CURSOR_LENGTH } from './services/cursor.js';
import { listServersText } from './services/list-servers.js';
import { listMcpServers, mcpVersionWithToken } from './services/read-mcp-registry.js';
import { serverWithToken, versionWithToken } from './services/views.js';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/** One path segment of plain characters (RFC 3986 pchar without percent-encoding or dot segments). */
const SEGMENT = "[A-Za-z0-9_~!$&'()*+,;=:@.-]+";
const VERSION_PATH = new RegExp(`^/v1/servers/(${SEGMENT})/(${SEGMENT})/versions/(${SEGMENT})$`);
const SERVER_PATH = new RegExp(`^/v1/servers/(${SEGMENT})/(${SEGMENT})$`);
// The official API's `{serverName}` carries its slash as %2F.
const MCP_VERSION_PATH = new RegExp(`^/v0\\.1/servers/(${SEGMENT})%2[Ff](${SEGMENT})/versions/(${SEGMENT})$`);
/** A query value taken as it is: no percent-encoding, `+`, or separators to decode. */
const PLAIN_VALUE = /^[A-Za-z0-9._~:@!$'()*,;/-]*$/;
/** A page size the list route's schema takes as it is (1-100, no leading zero). */
const PLAIN_LIMIT = /^(?:[1-9]\d?|100)$/;
const LIST_KEYS: ReadonlySet<string> = new Set(['search', 'cursor', 'limit']);
/** The v0.1 listing's parameters answered here (`updated_since`, a time to parse, goes to the route). */
const MCP_LIST_KEYS: ReadonlySet<string> = new Set(['search', 'cursor', 'limit', 'version']);
/** A Host header @hono/node-server takes as it is (its own check), so the origin is the same. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * An answer's headers as the Hono app orders them (content-type, content-length, the security
 * headers, the request id), with CORS's first on the v0.1 routes: one flat list per kind, whose
 * content-length and x-request-id values (the two empty strings) are set per answer in a copy.
 */
const HEADERS: readonly string[] = ['content-type', 'application/json', 'content-length', '', ...SECURITY_HEADERS.flat(), 'x-request-id', ''];
const CORS_HEADERS: readonly string[] = ['access-control-allow-origin', '*', ...HEADERS];

/** The routes answered here, as Hono reports them (the metrics and log label). */
const VERSION_ROUTE = '/v1/servers/:namespace/:name/versions/:version';
const SERVER_ROUTE = '/v1/servers/:namespace/:name';
const MCP_VERSION_ROUTE = '/v0.1/servers/:serverName/versions/:version';
const LIST_ROUTE = '/v1/servers';
const MCP_LIST_ROUTE = '/v0.1/servers';

interface Answer {
  /** The route pattern Hono reports for the same request (the metrics label). */
  route: string;
  body: string | Buffer;
  cors: boolean;
}

/**
 * The hottest reads, answered before Hono builds its request objects: GET a version, GET a
 * server, GET a v0.1 version, a page of servers or of the v0.1 listing (a plain query only). Only
 * a request that will succeed is answered here, with what the Hono route would answer (the same
 * services, request id, security headers, rate limits, metrics and log line); anything else (a
 * refusal of any kind, another route, a body, a repeated Authorization, Content-Type or User-Agent
 * header (the app reads every line of one, Node's `req.headers` the first), a Host header
 * node-server would not take as it is, CORS origins to negotiate) goes to `fallback`, the
 * Hono app, untouched, so every refusal keeps its one shape.
 * The rate limits are counted first, before any await (a check now and a count after the reads
 * would let a concurrent burst through); a request passed on carries its counts to the Hono app
 * (`front.counted`), which takes them instead of counting again. Every other step before the
 * answer is free of side effects. `fast-reads.test.ts` compares both paths byte for byte.
 */
export function fastReads(deps: Deps, front: Front, fallback: NodeListener): NodeListener {
  const corsConfigured = deps.settings.corsOrigins.length > 0;
  const notAuthenticated = new Error('not authenticated');
  // Each route's label set looked up once (metrics.ts), not per request.
  const observers = new Map([VERSION_ROUTE, SERVER_ROUTE, MCP_VERSION_ROUTE, LIST_ROUTE, MCP_LIST_ROUTE].map((route) => [route, deps.metrics.observer('GET', route, 200)]));
  const refuse = (): never => {
    throw notAuthenticated;
  };

  /**
   * GET version, GET server or v0.1 GET version when the path asks plainly (else undefined: Hono
   * refuses it): the token lookup that reads the record (or the approved versions) in the same
   * statement (one round trip on PostgreSQL for a version; one statement on SQLite for each), and
   * the answer from that read.
   */
  function pointRead(req: IncomingMessage, path: string): { lookup: ReturnType<typeof versionWithToken>['lookup']; answer: () => Promise<Answer> } | undefined {
    let m = VERSION_PATH.exec(path);
    if (m) {
      const name = plainName(m[1]!, m[2]!);
      if (name === undefined || versionProblem(m[3]!)) return undefined;
      const read = versionWithToken(deps, name, m[3]!);
      return { lookup: read.lookup, answer: async () => ({ route: VERSION_ROUTE, body: await read.bytes(), cors: false }) };
    }
    m = SERVER_PATH.exec(path);
    if (m) {
      const name = plainName(m[1]!, m[2]!);
      if (name === undefined) return undefined;
      const read = serverWithToken(deps, name);
      return { lookup: read.lookup, answer: async () => ({ route: SERVER_ROUTE, body: await read.json(), cors: false }) };
    }
    m = MCP_VERSION_PATH.exec(path);
    if (m) {
      const name = plainName(m[1]!, m[2]!);
      const version = m[3]!;
      const origin = originOf(deps, front, req);
      if (name === undefined || name.length > 300 || version.length > 255 || (version !== 'latest' && versionProblem(version)) || origin === undefined) return undefined;
      const read = mcpVersionWithToken(deps, name, version, origin);
      return { lookup: read.lookup, answer: async () => ({ route: MCP_VERSION_ROUTE, body: await read.text(), cors: true }) };
    }
    return undefined;
  }

  async function answer(req: IncomingMessage, path: string, query: string, point: ReturnType<typeof pointRead>): Promise<Answer | undefined> {
    if (path === '/v1/servers') {
      // Only a query the route's schema takes as it is (search ≤ 200, cursor ≤ MAX_CURSOR_LENGTH, limit 1-100).
      const q = plainQuery(query, LIST_KEYS);
      if (!q) return undefined;
      const search = q.get('search');
      const cursor = q.get('cursor');
      const limit = q.get('limit');
      if ((search !== undefined && search.length > 200) || (cursor !== undefined && cursor.length > MAX_CURSOR_LENGTH) || (limit !== undefined && !PLAIN_LIMIT.test(limit))) return undefined;
      return { route: LIST_ROUTE, body: await listServersText(deps, search, cursor, limit === undefined ? 30 : Number(limit)), cors: false };
    }
    if (path === '/v0.1/servers') {
      // Only a query the route takes as it is (search ≤ 200, cursor ≤ MAX_CURSOR_LENGTH, limit 1-100, version `latest` or an exact one).
      const q = plainQuery(query, MCP_LIST_KEYS);
      const origin = q && originOf(deps, front, req);
      if (!q || origin === undefined) return undefined;
      const [search, cursor, limit, version] = [q.get('search'), q.get('cursor'), q.get('limit'), q.get('version')];
      if ((search?.length ?? 0) > 200 || (cursor?.length ?? 0) > MAX_CURSOR_LENGTH || (version !== undefined && version !== 'latest' && versionProblem(version)) || (limit !== undefined && !PLAIN_LIMIT.test(limit))) return undefined;
      return { route: MCP_LIST_ROUTE, body: await listMcpServers(deps, { cursor, limit: limit === undefined ? 30 : Number(limit), search, version }, origin), cors: true };
    }
    // The point reads asked plainly were read with the token (pointRead); any other is Hono's to refuse.
    return point?.answer();
  }

  /** Answers `req` when it is one of the reads above and will succeed; `pass.counted` gets the rate-limit hits made, for the Hono app when it is passed on. */
  async function tryAnswer(req: IncomingMessage, res: ServerResponse, pass: { counted?: Counted }): Promise<boolean> {
    const started = performance.now();
    const url = req.url ?? '';
    const mark = url.indexOf('?');
    const path = mark < 0 ? url : url.slice(0, mark);
    if (!path.startsWith('/v1/servers') && !path.startsWith('/v0.1/servers')) return false;
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined || repeatsFirstLineHeader(req.rawHeaders)) return false;
    // Only a Host node-server takes as it is: of another it may make no URL (400 before the app,
    // whatever the route; `user@host`, a port over 65535), or no Host at all (HTTP/1.0).
    const host = req.headers.host;
    if (host === undefined || !PLAIN_HOST.test(host)) return false;
    const address = clientKey(req.socket.remoteAddress, req.headers['x-forwarded-for'] as string | undefined, front.trustedProxies);
    // Counted now, before any await, in the Hono app's order (address, then token once
    // authenticated); a request passed on carries its hits (front.counted), so it is counted once.
    const counted: Counted = { address: front.perAddress.hit(address) };
    pass.counted = counted;
    // In process the count is a number; a shared store's is a promise (counted there, atomically).
    if ((typeof counted.address === 'number' ? counted.address : await counted.address) > 0) return false;
    // GET version, GET server and v0.1 GET version: the token and the record in one read.
    const point = pointRead(req, path);
    let principal: Principal;
    try {
      principal = await authenticate(deps, req.headers.authorization, true, refuse, point?.lookup);
    } catch {
      return false;
    }
    if (principal.tokenId !== null) {
      const wait = front.perToken.hit(principal.tokenId);
      counted.token = { key: principal.tokenId, wait };
      if ((typeof wait === 'number' ? wait : await wait) > 0) return false;
    }
    if (!READ_ROLES.includes(principal.role)) return false;
    let found: Answer | undefined;
    try {
      found = await answer(req, path, mark < 0 ? '' : url.slice(mark + 1), point);
    } catch {
      // NOT_FOUND and every other refusal: Hono answers it (the reads changed nothing).
      return false;
    }
    if (!found) return false;
    const id = requestIdOf(req.headers['x-request-id'] as string | undefined);
    const body = typeof found.body === 'string' ? Buffer.from(found.body, 'utf8') : found.body;
    const headers = (found.cors ? CORS_HEADERS : HEADERS).slice();
    headers[found.cors ? 5 : 3] = String(body.length);
    headers[headers.length - 1] = id;
    res.writeHead(200, headers);
    res.end(body);
    const seconds = (performance.now() - started) / 1000;
    observers.get(found.route)!(seconds);
    if (deps.logger.isLevelEnabled('info'))
      deps.logger.info(
        { requestId: id, method: 'GET', path, route: found.route, status: 200, ms: Math.round(seconds * 10_000) / 10, principal: principal.name, userAgent: req.headers['user-agent'] },
        'request',
      );
    return true;
  }

  return (req, res) => {
    if (req.method !== 'GET' || corsConfigured) return fallback(req, res);
    // A failure before the answer was written changed nothing: Hono answers (and logs) it.
    const pass: { counted?: Counted } = {};
    const passOn = () => {
      // The hits are handed over only with a request passed on: a WeakMap entry per answered
      // request cost more than the rest of its rate limiting (an ephemeron for the collector).
      if (pass.counted) front.counted.set(req, pass.counted);
      fallback(req, res);
    };
    tryAnswer(req, res, pass).then(
      (answered) => answered || passOn(),
      () => res.headersSent || passOn(),
    );
  };
}

/**
 * The origin the answer names, as the Hono route takes it (public-origin.ts): SIGIL_PUBLIC_URL,
 * else the request's Host (one taken as it is: checked in tryAnswer) and scheme.
 */
function originOf(deps: Deps, front: Front, req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (host === undefined) return undefined;
  const forwarded = req.headers['x-forwarded-proto'];
  return publicOrigin(deps.settings.publicOrigin, front.trustedProxies, { address: req.socket.remoteAddress, encrypted: (req.socket as TLSSocket).encrypted === true }, host, typeof forwarded === 'string' ? forwarded : undefined);
}

/** The query's parameters when each is one of `keys`, given once, with a plain value; else undefined. */
function plainQuery(query: string, keys: ReadonlySet<string>): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!keys.has(key) || out.has(key) || !PLAIN_VALUE.test(value)) return undefined;
    out.set(key, value);
  }
  return out;
}

/** `namespace/name` when it is a valid server name, else undefined (Hono then refuses it). */
function plainName(namespace: string, server: string): string | undefined {
  const name = `${namespace}/${server}`;
  return serverNameProblem(name) ? undefined : name;
}
