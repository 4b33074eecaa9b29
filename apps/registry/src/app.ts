import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { clientKey } from './client-address.js';
import type { Deps, Principal } from './deps.js';
import { ERROR_STATUS, problem, ServiceError } from './errors.js';
import { createFront, requestIdOf, SECURITY_HEADERS, type Front } from './front.js';
import type { Env } from './http.js';
import { openApiDocument } from './openapi.js';
import { allowlistRoutes, caRoutes, reviewerRoutes, tokenRoutes, whoamiRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { logRoutes } from './routes/log.js';
import { mcpRegistryRoutes } from './routes/mcp-registry.js';
import { metaRoutes } from './routes/meta.js';
import { publishRoutes } from './routes/publish.js';
import { reviewRoutes } from './routes/reviews.js';
import { serverRoutes } from './routes/servers.js';
import { statusRoutes } from './routes/status.js';
import { auditSince, currentAuditHead } from './services/read-audit.js';
import { authenticate, type AuthFailure } from './services/authenticate.js';
import { withoutTokenSecrets } from './services/create-token.js';

/**
 * Builds the registry's HTTP app over its dependencies. Pure: no I/O at import or build time, so
 * tests build it over a fresh database and call `app.request(...)` in-process.
 * `front` holds the rate limiters and the like, shared with the read hot path (fast-reads.ts).
 * @example const app = createApp({ db, keys, settings, logger, metrics });
 */
export function createApp(deps: Deps, front: Front = createFront(deps)) {
  const { perAddress, perToken, trustedProxies, authFailures } = front;
  const app = new OpenAPIHono<Env>();
  // One log line per governance event, each logged once, after it committed.
  // A chain of promises, so concurrent requests log each event once and in order.
  let loggedAudit: Promise<number> = currentAuditHead(deps);
  const logAudit = async (): Promise<void> => {
    if (!deps.logger.isLevelEnabled('info')) return;
    loggedAudit = loggedAudit.then(async (after) => {
      let last = after;
      for (const e of await auditSince(deps, after)) {
        deps.logger.info({ audit: { seq: e.seq, actor: e.actor, action: e.action, subject: e.subject, details: e.details, hash: e.hash } }, 'audit event');
        last = e.seq;
      }
      return last;
    });
    await loggedAudit;
  };

  // A request id and the security headers on every response, refusals included (set after the
  // handler or the error handler made the response).
  app.use(async (c, next) => {
    const id = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', id);
    await next();
    const headers = c.res.headers;
    for (const [name, value] of SECURITY_HEADERS) headers.set(name, value);
    headers.set('x-request-id', id);
  });
  app.use(async (c, next) => {
    const started = performance.now();
    // The read hot path may have counted this request already (front.counted): take its hits.
    const counted = c.env?.incoming ? front.counted.get(c.env.incoming) : undefined;
    c.set('limitToken', (key) => {
      const token = counted?.token;
      if (token && token.key === key) {
        counted.token = undefined;
        return token.wait;
      }
      return perToken.hit(key);
    });
    c.set('authFailed', (reason) => authFailures.record(reason, c.get('clientAddress') ?? 'unknown'));
    await next();
    const route = c.req.routePath || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.observeRequest(c.req.method, route, c.res.status, seconds);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') await logAudit();
    if (deps.logger.isLevelEnabled('info'))
      deps.logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        // A token pasted into a path (DELETE /v1/tokens/<the token> for its id) keeps its id only.
        path: withoutTokenSecrets(c.req.path),
        route,
        status: c.res.status,
        ms: Math.round(seconds * 10_000) / 10,
        principal: c.get('principal')?.name,
        userAgent: c.req.header('user-agent'),
        // Secrets (Authorization, cookies) are never logged.
      },
      'request',
    );
  });
  if (deps.settings.corsOrigins.length) app.use(cors({ origin: deps.settings.corsOrigins, allowHeaders: ['authorization', 'content-type'], maxAge: 600 }));
  /** The token's principal when an Authorization header names a token that authenticates (never anonymous). */
  const tokenPrincipal = async (authorization: string | undefined, onFailure: (reason: AuthFailure) => void): Promise<Principal | undefined> => {
    if (authorization === undefined) return undefined;
    try {
      const principal = await authenticate(deps, authorization, false, onFailure);
      return principal.tokenId === null ? undefined : principal;
    } catch {
      return undefined;
    }
  };
  app.use(async (c, next) => {
    // The client is the socket peer, or the right-most untrusted X-Forwarded-For hop when the
    // peer is a configured reverse proxy; a header from anyone else is ignored (issue 11, 1).
    const address = clientKey(c.env?.incoming ? getConnInfo(c).remote.address : undefined, c.req.header('x-forwarded-for'), trustedProxies);
    c.set('clientAddress', address);
    const counted = c.env?.incoming ? front.counted.get(c.env.incoming) : undefined;
    const hit = counted ? counted.address : perAddress.hit(address);
    const wait = typeof hit === 'number' ? hit : await hit;
    if (wait > 0) {
      // Over the address's limit, a request whose bearer token holds still goes on, limited by
      // that token's own bucket, counted here (whatever the route) and not again by caller():
      // hosts behind one NAT share an address, and one client among them (without a token, or
      // with a bad one) must not be able to lock out every other. Only then is the token looked
      // up here, and a failure counts as one (auth-failures.ts).
      const principal = await tokenPrincipal(c.req.header('authorization'), c.get('authFailed'));
      if (!principal) throw new ServiceError('RATE_LIMITED', `too many requests from this address; retry in ${wait} s`, { retryAfter: wait });
      const tokenHit = c.get('limitToken')(principal.tokenId!);
      const tokenWait = typeof tokenHit === 'number' ? tokenHit : await tokenHit;
      if (tokenWait > 0) throw new ServiceError('RATE_LIMITED', `too many requests for this token; retry in ${tokenWait} s`, { retryAfter: tokenWait });
      const limitToken = c.get('limitToken');
      c.set('limitToken', (key) => (key === principal.tokenId ? 0 : limitToken(key)));
    }
    await next();
  });
  const limitBody = bodyLimit({
    maxSize: deps.settings.bodyLimit,
    onError: () => {
      throw new ServiceError('PAYLOAD_TOO_LARGE', `the body is larger than ${deps.settings.bodyLimit} bytes`);
    },
  });
  // GET and HEAD bodies are never read. bodyLimit looks at the request's body stream, which makes
  // @hono/node-server build a full undici Request (and its AbortSignal) for every request.
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  app.route('/', metaRoutes(deps, (origin) => openApiDocument(app, origin)));
  app.route('/v1/publish', publishRoutes(deps));
  app.route('/v1/servers', serverRoutes(deps));
  app.route('/v1/status', statusRoutes(deps));
  app.route('/v1/reviews', reviewRoutes(deps));
  app.route('/v1/allowlist', allowlistRoutes(deps));
  app.route('/v1/reviewers', reviewerRoutes(deps));
  app.route('/v1/certificate-authorities', caRoutes(deps));
  app.route('/v1/tokens', tokenRoutes(deps));
  app.route('/v1/whoami', whoamiRoutes(deps));
  app.route('/v1/audit', auditRoutes(deps));
  app.route('/v1/log', logRoutes(deps));
  app.route('/v0.1', mcpRegistryRoutes(deps));

  // A path the registry serves, asked with a method it does not take, is 405 with the methods it takes.
  let routes: Array<{ pattern: RegExp; method: string }> | undefined;
  app.notFound((c) => {
    routes ??= app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ pattern: routePattern(r.path), method: r.method }));
    const allow = [...new Set(routes.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allow.length && !allow.includes(c.req.method)) return problem(c, 'METHOD_NOT_ALLOWED', `${c.req.path} takes ${allow.join(', ')}, not ${c.req.method}`, {}, { allow: allow.join(', ') });
    return problem(c, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`);
  });
  app.onError((err, c) => {
    if (err instanceof ServiceError) {
      deps.metrics.refusals.inc({ code: err.code });
      const retry: Record<string, string> = typeof err.extra.retryAfter === 'number' ? { 'retry-after': String(err.extra.retryAfter) } : {};
      const { retryAfter: _r, ...extra } = err.extra;
      return problem(c, err.code, err.message, extra, retry);
    }
    // Never leak internals: the log has the details, the client a request id.
    deps.metrics.refusals.inc({ code: 'INTERNAL' });
    deps.logger.error({ requestId: c.get('requestId'), err }, 'unhandled error');
    return problem(c, 'INTERNAL', 'the registry failed to handle this request; quote the request id when reporting it');
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
export { ERROR_STATUS };

/** A Hono route path (`/v1/log/tile/:tilePath{.+}`, `/v1/tokens/:id`) as an anchored regular expression of the paths it matches. */
function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      const param = /^:\w+(?:\{(.+)\})?$/.exec(segment);
      if (param) return param[1] ?? '[^/]+';
      return segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}
