// The registry's request listener built in this process over a data dir, as main.ts builds it
// (fast reads and status before the Hono app), for the in-process benches (reads-inproc.mjs,
// lists-inproc.mjs, reads-callgrind.mjs). Needs the workspaces built.
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { openStore } from '@sigil/db';
import { pino } from 'pino';

const dist = new URL('../../../apps/registry/dist/', import.meta.url);

/** The listener over `dataDir` (SQLite, logging off) and its store, to close when done. */
export async function openRegistryListener(dataDir, settings) {
  const load = (file) => import(new URL(file, dist));
  const [{ loadEnv, settingsFrom }, { loadRegistryKeys }, { createMetrics }, { createLinter }, { createApp }, { createFront }, { fastReads }, { fastStatus }] = await Promise.all(
    ['config.js', 'keys.js', 'metrics.js', 'linter.js', 'app.js', 'front.js', 'fast-reads.js', 'fast-status.js'].map(load),
  );
  const env = loadEnv({ ...settings, SIGIL_DATA_DIR: dataDir, SIGIL_LOG_LEVEL: 'silent' });
  const store = await openStore({ path: join(dataDir, 'registry.db') });
  const deps = { db: store.db, keys: await loadRegistryKeys(join(dataDir, 'keys')), settings: settingsFrom(env), logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
  const front = createFront(deps);
  return { listener: fastStatus(deps, front, fastReads(deps, front, getRequestListener(createApp(deps, front).fetch))), store };
}
