import { chmodSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { openStore, type Store } from '@sigil/db';
import { pino } from 'pino';
import { createApp } from './app.js';
import { addressKey, TrustedProxies } from './client-address.js';
import { ConfigError, loadEnv, settingsFrom, type Env } from './config.js';
import type { Deps } from './deps.js';
import { givenKeys, KeyError, loadRegistryKeys } from './keys.js';
import { logRegistryKeys } from './services/append-log.js';
import { checkRegistryKeys } from './services/check-registry-keys.js';
import { backfillLog } from './services/backfill-log.js';
import { checkpointer } from './services/sign-checkpoint.js';
import { createLinter } from './linter.js';
import { prettyDestination } from './log-format.js';
import { fastReads } from './fast-reads.js';
import { fastStatus } from './fast-status.js';
import { createFront, hostRequired, MAX_HEADER_FIELDS, unparsableRequest, unreadableRequest } from './front.js';
import { createMetrics } from './metrics.js';
import type { Limiter } from './rate-limit.js';
import { connectRedisCounters, type RedisCounters } from './shared-rate-limit.js';
import { bootstrapAdmin, needsBootstrap, newTokenSecret } from './services/create-token.js';
import { flushForbidden } from './services/audit-forbidden.js';

/** A start-up refusal: one line on stderr with a code and what to do, exit 1, no stack trace. */
class StartError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let database: Store | undefined;
let counters: RedisCounters | undefined;

// The only place that reads the environment, opens the database and listens.
async function start(): Promise<void> {
  const env = loadEnv(process.env);
  // Private keys given as text are not left in the environment for anything this process might start.
  for (const name of ['SIGIL_STATUS_KEY', 'SIGIL_LOG_KEY', 'SIGIL_TSA_KEY'] as const) delete process.env[name];
  const dataDir = resolve(env.SIGIL_DATA_DIR);
  const pretty = env.SIGIL_LOG_FORMAT === 'pretty' || (env.SIGIL_LOG_FORMAT === 'auto' && process.stdout.isTTY === true);
  const logger = pino(
    { level: env.SIGIL_LOG_LEVEL, redact: { paths: ['headers.authorization', 'token', '*.token', 'secret'], censor: '[redacted]' } },
    pretty ? prettyDestination((line) => process.stdout.write(line)) : undefined,
  );
  // Token hashes, bundles, the audit log and the keys: readable by this user only (issue 11, 5).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  // PostgreSQL when SIGIL_DATABASE_URL names one (several instances share it), else SQLite here.
  database = await openStore({ url: env.SIGIL_DATABASE_URL, path: join(dataDir, 'registry.db') });
  // On PostgreSQL several instances share the database: none may make keys of its own.
  const keys = await loadRegistryKeys(join(dataDir, 'keys'), givenKeys(env), { generate: !env.SIGIL_DATABASE_URL });
  const deps: Deps = { db: database.db, keys, settings: settingsFrom(env), logger, metrics: createMetrics(), linter: createLinter() };
  // Several instances on one database sign with the keys it records, or none starts with another
  // (KEY_MISMATCH); checked before this instance signs anything (the backfill signs checkpoints).
  if (env.SIGIL_DATABASE_URL) {
    for (const k of await checkRegistryKeys(deps, { status: env.SIGIL_STATUS_KEY_REPLACES, log: env.SIGIL_LOG_KEY_REPLACES }, new Date().toISOString())) {
      if (k.replaces) logger.warn({ use: k.use, fingerprint: k.fingerprint, replaces: k.replaces }, `${k.use} key rotated: every instance on this database must now sign with this key`);
      else logger.info({ use: k.use, fingerprint: k.fingerprint }, `${k.use} key recorded: every instance on this database must sign with this key`);
    }
  }

  await bootstrap(deps, env, dataDir);
  // A database from before the log (migration 0004): its accepted history is logged first.
  const backfilled = await backfillLog(deps, new Date().toISOString());
  logger.info({ logged: backfilled.logged, unlogged: backfilled.unlogged.length, afterAuditSeq: backfilled.after }, 'log backfill: logged the accepted records that had no log entry');
  if (backfilled.unlogged.length > 0) logger.warn({ unlogged: backfilled.unlogged }, 'log backfill: these records could not be logged (a key-signed bundle whose key the registry no longer lists); hosts pinning the log refuse them with LOG_ENTRY_MISSING');
  await logRegistryKeys(deps, new Date().toISOString());
  // What the log holds beyond its newest checkpoint (appended by an instance stopped before it
  // signed) is signed now and, while this instance runs, within an interval of being appended.
  await checkpointer(deps).start();

  const front = createFront(deps, await rateLimiters(env, deps));
  const app = createApp(deps, front);
  // The hottest reads and POST /v1/status are answered before Hono builds its request objects;
  // everything else, and every refusal, is the Hono app's (fast-reads.ts, fast-status.ts); a
  // request node-server cannot make a URL of is refused like the app's refusals (front.ts).
  const listener = fastStatus(deps, front, fastReads(deps, front, getRequestListener(app.fetch, { hostname: env.HOST, errorHandler: unreadableRequest(deps) })));
  // Slow clients cannot hold a connection: Node checks these timeouts every
  // connectionsCheckingInterval, so a 10 s header timeout is enforced within about 11 s.
  // requireHostHeader off: Node would answer an HTTP/1.1 request without Host with its own bare
  // 400, before any listener; hostRequired (front.ts) refuses it as every refusal is
  // (problem+json, request id, counted).
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000, requireHostHeader: false }, hostRequired(deps, listener));
  // One more than the registry reads, so that a request with too many is seen and refused (front.ts).
  server.maxHeadersCount = MAX_HEADER_FIELDS + 1;
  // A request Node's parser refuses is answered as a refusal (problem+json, request id), not Node's bare 400.
  server.on('clientError', unparsableRequest(deps));
  server.listen(env.PORT, env.HOST);
  limitConnections(server, env, new TrustedProxies(deps.settings.trustedProxies));
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') fail(new StartError('PORT_IN_USE', `${env.HOST}:${env.PORT} is already in use (is another registry running?); stop it, or start on another port: PORT=${env.PORT + 1} npm start`));
      else if (e.code === 'EACCES') fail(new StartError('PORT_DENIED', `not allowed to listen on ${env.HOST}:${env.PORT}; use a port above 1023`));
      else if (e.code === 'EADDRNOTAVAIL') fail(new StartError('HOST_INVALID', `${env.HOST} is not an address of this machine; set HOST (e.g. HOST=127.0.0.1)`));
      else fail(e);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  logger.info({ address: env.HOST, port, dataDir }, 'listening');
  process.stderr.write(`sigil-registry: listening on http://${env.HOST}:${port} (data in ${dataDir})\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in 10 s; closing anyway');
      void closeDatabase().finally(() => process.exit(1));
    }, 10_000);
    force.unref();
    // The database closes (PostgreSQL: every pooled connection ended) before the process exits.
    server.close(() => {
      // Refusals counted but not yet written (services/audit-forbidden.ts) go into the chain first.
      void flushForbidden(deps)
        // A checkpoint waiting for its interval is signed before the database closes.
        .then(() => checkpointer(deps).stop())
        .catch((err: unknown) => logger.error({ err }, 'signing the last log checkpoint failed'))
        .then(closeDatabase)
        .finally(() => {
          logger.info('stopped');
          process.exit(0);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Closes the database (and the rate-limit store) once; never rejects (shutdown goes on whatever the connections' state). */
let closing: Promise<void> | undefined;
function closeDatabase(): Promise<void> {
  return (closing ??= Promise.allSettled([database?.close(), counters?.close()]).then(() => {}));
}

/**
 * The first admin, on a database without tokens. A generated token is written to
 * `<data dir>/bootstrap-token` (0600, exclusive create) before the token is committed, so the
 * admin can never be committed without its secret being kept somewhere (issue 11, 6).
 */
async function bootstrap(deps: Deps, env: Env, dataDir: string): Promise<void> {
  if (!(await needsBootstrap(deps))) return;
  if (env.SIGIL_BOOTSTRAP_TOKEN) {
    await bootstrapAdmin(deps, env.SIGIL_BOOTSTRAP_TOKEN);
    process.stderr.write('sigil-registry: created the admin principal with the token from SIGIL_BOOTSTRAP_TOKEN\n');
    return;
  }
  const file = join(dataDir, 'bootstrap-token');
  const { secret } = newTokenSecret();
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx', flush: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    throw new StartError(
      'BOOTSTRAP_FILE_EXISTS',
      `${file} already exists, but this database has no token yet (the file is left from an earlier database): move it away and start again to get a new admin token, or set SIGIL_BOOTSTRAP_TOKEN`,
    );
  }
  let created = false;
  try {
    created = (await bootstrapAdmin(deps, secret)) !== undefined;
  } finally {
    if (!created) unlinkSync(file);
  }
  if (created) process.stderr.write(`sigil-registry: created the admin principal; its token is in ${file} (mode 0600): keep it somewhere safe, and delete the file once nothing reads it there (the README's round does)\n`);
}

/**
 * The rate-limit counters: in Redis when SIGIL_REDIS_URL is set (every instance counts in the
 * same windows), else in this process. On PostgreSQL, in-process counting must be chosen
 * explicitly: instances counting alone allow the rate once per instance.
 */
async function rateLimiters(env: Env, deps: Deps): Promise<{ perAddress: Limiter; perToken: Limiter } | undefined> {
  if (env.SIGIL_REDIS_URL) {
    const url = env.SIGIL_REDIS_URL;
    try {
      counters = await connectRedisCounters(url, env.SIGIL_REDIS_PREFIX, (e) => deps.logger.warn({ err: e.message }, 'rate-limit store: connection lost; requests are refused (RATE_LIMIT_UNAVAILABLE) until it is back'));
    } catch (cause) {
      throw new StartError('REDIS_UNREACHABLE', `cannot reach the rate-limit store at ${redactUrl(url)} (${(cause as Error).message}); start Redis or correct SIGIL_REDIS_URL`);
    }
    return { perAddress: counters.limiter('address', deps.settings.rateLimitPerAddress), perToken: counters.limiter('token', deps.settings.rateLimitPerToken) };
  }
  if (env.SIGIL_DATABASE_URL && env.SIGIL_RATE_LIMIT_STORE !== 'local')
    throw new StartError(
      'RATE_LIMIT_STORE_REQUIRED',
      'on PostgreSQL several instances would each count the rate limits alone (N instances allow N times the rate): set SIGIL_REDIS_URL so they share counters, or SIGIL_RATE_LIMIT_STORE=local to count in each instance (docs/deploy.md)',
    );
  return undefined;
}

/** A URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'SIGIL_REDIS_URL';
  }
}

/** At most SIGIL_MAX_CONNECTIONS open, and SIGIL_MAX_CONNECTIONS_PER_ADDRESS per client address. */
function limitConnections(server: Server, env: Env, trusted: TrustedProxies): void {
  server.maxConnections = env.SIGIL_MAX_CONNECTIONS;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? 'unknown';
    // A reverse proxy carries many clients; the rate limit still tells them apart.
    if (trusted.has(peer)) return;
    const key = addressKey(peer);
    const count = (open.get(key) ?? 0) + 1;
    if (count > env.SIGIL_MAX_CONNECTIONS_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}

try {
  await start();
} catch (e) {
  await closeDatabase();
  if (e instanceof StartError || e instanceof ConfigError || e instanceof KeyError) {
    process.stderr.write(`sigil-registry: error ${e.code}: ${e.message}\n`);
  } else {
    process.stderr.write(`sigil-registry: error INTERNAL: the registry failed to start: ${(e as Error)?.stack ?? String(e)}\n`);
  }
  process.exit(1);
}
