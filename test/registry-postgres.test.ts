import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, startRegistry, weatherManifest, type RegistryProcess, type TestDatabase } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

// Two registry processes on one PostgreSQL database (a database of this file's own), sharing a
// data directory for their keys: what one writes, the other serves, and concurrent writes
// through both stay exact.
const dir = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
const path = (name: string) => join(dir, name);
let pgdb: TestDatabase;
let a: RegistryProcess;
let b: RegistryProcess;

async function ok(registry: RegistryProcess, args: string[], token?: string): Promise<string> {
  const run = await sigilInProcess(args, { env: { SIGIL_REGISTRY: registry.url, SIGIL_TOKEN: token ?? '' } });
  if (run.code !== 0) throw new Error(`sigil ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}
async function token(principal: string, role: string, ...namespaces: string[]): Promise<string> {
  const out = await ok(a, ['token', 'create', '--principal', principal, '--role', role, ...namespaces.flatMap((n) => ['--namespace', n]), '--ttl', '2h', '--json'], a.adminToken);
  return (JSON.parse(out) as { token: string }).token;
}

beforeAll(async () => {
  pgdb = await createTestDatabase('sigil_e2e');
  const env = { SIGIL_DATABASE_URL: pgdb.url };
  a = await startRegistry({ dataDir: path('registry'), env });
  b = await startRegistry({ dataDir: path('registry'), env });
}, 120_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await pgdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the registry on PostgreSQL, two instances', () => {
  it('is ready on both, and one concurrent publish of a version through each stores one row', async () => {
    for (const r of [a, b]) expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    await ok(a, ['keygen', '--out', path('publisher.key')]);
    await ok(a, ['keygen', '--out', path('alice.key')]);
    const publisher = await token('acme-ci', 'publisher', 'io.github.acme');
    const alice = await token('alice', 'security');
    await ok(b, ['reviewer', 'add', 'alice', '--public-key', path('alice.key.pub')], b.adminToken);
    await ok(a, ['allowlist', 'add', 'io.github.acme', '--public-key', path('publisher.key.pub')], a.adminToken);
    const file = path('weather.json');
    writeFileSync(file, JSON.stringify(weatherManifest(), null, 2));
    await ok(a, ['sign', file, '--key', path('publisher.key'), '--out', `${file}.bundle.json`]);
    // The same version through both at once: one stores it, the other answers the replay.
    await Promise.all([a, b].map((r) => ok(r, ['publish', file, '--bundle', `${file}.bundle.json`], publisher)));
    const client = new pg.Client({ connectionString: pgdb.url });
    await client.connect();
    try {
      expect((await client.query("select count(*)::int as n from versions where server = 'io.github.acme/weather'")).rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
    await ok(b, ['review', 'approve', 'io.github.acme/weather@1.2.0', '--key', path('alice.key')], alice);
    const record = (await (await fetch(`${a.url}/v1/servers/io.github.acme/weather/versions/1.2.0`, { headers: { authorization: `Bearer ${alice}` } })).json()) as { status: string };
    expect(record.status).toBe('approved');
    for (const r of [a, b]) {
      const verify = (await (await fetch(`${r.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${r.adminToken}` } })).json()) as { ok: boolean };
      expect(verify.ok).toBe(true);
    }
  });
});
