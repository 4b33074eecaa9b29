import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { openDatabase } from '@sigil/db';
import { pino } from 'pino';
import { createApp } from './app.js';
import { loadEnv, settingsFrom } from './config.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin } from './services/create-token.js';

// The only place that reads the environment, opens the database and listens.
const env = loadEnv(process.env);
const dataDir = resolve(env.SIGIL_DATA_DIR);
const logger = pino({ level: env.SIGIL_LOG_LEVEL, redact: { paths: ['headers.authorization', 'token', '*.token', 'secret'], censor: '[redacted]' } });
const database = openDatabase(join(dataDir, 'registry.db'));
const keys = await loadRegistryKeys(join(dataDir, 'keys'));
const deps = { db: database.db, keys, settings: settingsFrom(env), logger, metrics: createMetrics(), linter: createLinter() };

const boot = bootstrapAdmin(deps, env.SIGIL_BOOTSTRAP_TOKEN);
if (boot?.generated) {
  const file = join(dataDir, 'bootstrap-token');
  await writeFile(file, `${boot.token}\n`, { mode: 0o600, flag: 'wx' });
  process.stderr.write(`sigil-registry: created the admin principal; its token is in ${file} (shown once, mode 0600)\n`);
} else if (boot) {
  process.stderr.write('sigil-registry: created the admin principal with the token from SIGIL_BOOTSTRAP_TOKEN\n');
}

const app = createApp(deps);
const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT }, (info) => {
  logger.info({ address: info.address, port: info.port, dataDir }, 'listening');
  process.stderr.write(`sigil-registry: listening on http://${env.HOST}:${info.port} (data in ${dataDir})\n`);
});
// Slow clients cannot hold a connection forever.
const http = server as unknown as { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number };
http.requestTimeout = 30_000;
http.headersTimeout = 10_000;
http.keepAliveTimeout = 5_000;

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const force = setTimeout(() => {
    logger.warn('in-flight requests did not finish in 10 s; closing anyway');
    database.close();
    process.exit(1);
  }, 10_000);
  force.unref();
  server.close(() => {
    database.close();
    logger.info('stopped');
    process.exit(0);
  });
  (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
