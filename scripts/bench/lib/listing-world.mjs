// The data the listing benches read (lists-inproc.mjs, lists-callgrind.mjs), made the same way
// for both: one approved version written by the registry through its API (seedWeather), then
// `total - 1` versions seeded by plain SQL inserts as registry.mjs seeds them (the real version's
// texts under other names, `per` versions a server, every fifth pending).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NO_RATE_LIMITS, seedWeather, startRegistry } from './registry-world.mjs';

/** Seeds a data dir under `work`; resolves with its path and the reader token. */
export async function seedListings(work, total, per = 5) {
  const dataDir = join(work, 'data');
  const port = 22000 + Math.floor(Math.random() * 2000);
  const { child: registry, base } = await startRegistry({ port, dataDir, env: NO_RATE_LIMITS, stdio: ['ignore', 'ignore', 'ignore'] });
  const { reader } = await seedWeather(base);
  registry.kill('SIGTERM');
  await new Promise((r) => registry.once('exit', r));
  const seedDb = new Database(join(dataDir, 'registry.db'));
  const model = seedDb.prepare("SELECT * FROM versions WHERE server = 'io.github.acme/weather' AND version = '1.0.0'").get();
  const addServer = seedDb.prepare('INSERT INTO servers (name, namespace, owner, created_at) VALUES (?, ?, ?, ?)');
  const addVersion = seedDb.prepare(
    'INSERT INTO versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, findings, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  seedDb.transaction(() => {
    for (let i = 0; i < total - 1; i++) {
      const server = `io.github.seed${Math.floor(i / 5000)}/server-${String(Math.floor(i / per)).padStart(6, '0')}`;
      if (i % per === 0) addServer.run(server, server.split('/')[0], 'seed', model.published_at);
      addVersion.run(server, `1.0.${i % per}`, `sha256:${createHash('sha256').update(server + i).digest('hex')}`, model.tools_digest, model.manifest, model.bundle, model.signer_kind, model.signer_fingerprint, 'seed', i % 5 === 4 ? 'pending' : 'approved', 'low', '[]', model.published_at);
    }
  })();
  seedDb.pragma('wal_checkpoint(TRUNCATE)');
  seedDb.close();
  return { dataDir, reader, port };
}

/** The listing reads both benches measure: label and path. */
export const LISTING_ROWS = [
  ['GET version', '/v1/servers/io.github.acme/weather/versions/1.0.0'],
  ['list servers (page of 30)', '/v1/servers?limit=30'],
  ['list servers, later page', `/v1/servers?limit=30&cursor=${Buffer.from('io.github.seed9/server-004000').toString('base64url')}`],
  ['search servers', '/v1/servers?search=server-0123&limit=30'],
  ['search, no match', '/v1/servers?search=nothing-here&limit=30'],
  ['v0.1 list (latest)', '/v0.1/servers?version=latest&limit=30'],
  ['v0.1 list (all)', '/v0.1/servers?limit=30'],
  ['v0.1 search (latest)', '/v0.1/servers?version=latest&search=server-0123&limit=30'],
  // Nothing changed since: every server is walked, 50 rounds of them, and the page ends with a cursor.
  ['v0.1 updated_since', '/v0.1/servers?version=latest&updated_since=2099-01-01T00:00:00Z&limit=30'],
];
