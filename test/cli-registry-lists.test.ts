import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@sigil/db';
import type { Manifest } from '@sigil/manifest';
import { certificateFingerprint } from '@sigil/signing/verify';
import { filesystemManifest, startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

// The list commands of `sigil` against a real registry process on 127.0.0.1 (the CLI runs
// in-process through main()): every page of the review queue, its filters, and the allowlist
// with its builders.
const dir = mkdtempSync(join(tmpdir(), 'sigil-lists-'));
const path = (name: string) => join(dir, name);
let registry: RegistryProcess;
const tokens: Record<string, string> = {};

function sigil(args: readonly string[], token?: string) {
  return sigilInProcess(args, { env: { SIGIL_REGISTRY: registry.url, SIGIL_TOKEN: token ?? '' } });
}
async function ok(args: string[], token?: string): Promise<string> {
  const run = await sigil(args, token);
  if (run.code !== 0) throw new Error(`sigil ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}
async function token(principal: string, role: string, ...namespaces: string[]): Promise<string> {
  return (await ok(['token', 'create', '--principal', principal, '--role', role, ...namespaces.flatMap((n) => ['--namespace', n]), '--field', 'token'], registry.adminToken)).trim();
}
async function publish(file: string, manifest: Manifest, publisherToken: string): Promise<void> {
  writeFileSync(path(file), JSON.stringify(manifest));
  await ok(['sign', path(file), '--key', path('publisher.key'), '--out', path(`${file}.bundle`)]);
  await ok(['publish', path(file), '--bundle', path(`${file}.bundle`)], publisherToken);
}
type Queue = { reviews: Array<{ name: string; version: string; risk: string; publisher: string }>; next: string | null };
const refs = (q: Queue) => q.reviews.map((r) => `${r.name}@${r.version}`);

/** Every pending version, oldest first, as published in beforeAll. */
const ALL = ['io.github.acme/weather@1.0.0', 'io.github.acme/weather@1.1.0', 'io.github.acme/weather@1.2.0', 'io.github.acme/filesystem@1.0.0', 'io.github.other/forecast@2.0.0'];

beforeAll(async () => {
  registry = await startRegistry({ dataDir: path('registry') });
  await ok(['keygen', '--out', path('publisher.key')]);
  await ok(['allowlist', 'add', 'io.github.acme', '--public-key', path('publisher.key.pub')], registry.adminToken);
  await ok(['allowlist', 'add', 'io.github.other', '--public-key', path('publisher.key.pub')], registry.adminToken);
  tokens.acme = await token('acme-ci', 'publisher', 'io.github.acme');
  tokens.other = await token('other-ci', 'publisher', 'io.github.other');
  tokens.alice = await token('alice', 'security');
  for (const version of ['1.0.0', '1.1.0', '1.2.0']) await publish(`weather-${version}.json`, weatherManifest({ version }), tokens.acme);
  await publish('fs.json', filesystemManifest(), tokens.acme);
  const forecast = weatherManifest({ name: 'io.github.other/forecast', version: '2.0.0' });
  forecast.tools = forecast.tools.map((t) => ({ ...t, name: `other_${t.name}` }));
  await publish('forecast.json', forecast, tokens.other);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('sigil review list', () => {
  it('shows one page and the cursor of the next, which --cursor continues from', async () => {
    const first = await ok(['review', 'list', '--limit', '2'], tokens.alice);
    expect(first).toContain('io.github.acme/weather@1.0.0');
    expect(first).toContain('io.github.acme/weather@1.1.0');
    expect(first).not.toContain('io.github.acme/weather@1.2.0');
    const cursor = /--cursor (\S+)/.exec(first)?.[1];
    expect(cursor).toBeDefined();

    const seen: string[] = [];
    let page = JSON.parse(await ok(['review', 'list', '--limit', '2', '--json'], tokens.alice)) as Queue;
    expect(page.next).toBe(cursor);
    seen.push(...refs(page));
    while (page.next !== null) {
      page = JSON.parse(await ok(['review', 'list', '--limit', '2', '--cursor', page.next, '--json'], tokens.alice)) as Queue;
      seen.push(...refs(page));
    }
    expect(seen).toEqual(ALL);
    // A page that is not the last names the next cursor; the last page names none.
    expect(await ok(['review', 'list', '--limit', '2', '--cursor', cursor!], tokens.alice)).toContain('--cursor');
    expect(await ok(['review', 'list', '--limit', '5'], tokens.alice)).not.toContain('--cursor');
  });

  it('follows every page with --all', async () => {
    const all = JSON.parse(await ok(['review', 'list', '--all', '--limit', '2', '--json'], tokens.alice)) as Queue;
    expect(refs(all)).toEqual(ALL);
    expect(all.next).toBeNull();
    const human = await ok(['review', 'list', '--all', '--limit', '1'], tokens.alice);
    for (const ref of ALL) expect(human).toContain(ref);
    expect(human).not.toContain('--cursor');
  });

  it('filters by namespace, publisher and risk', async () => {
    const list = async (...args: string[]) => refs(JSON.parse(await ok(['review', 'list', '--all', '--limit', '1', ...args, '--json'], tokens.alice)) as Queue);
    expect(await list('--namespace', 'io.github.other')).toEqual(['io.github.other/forecast@2.0.0']);
    expect(await list('--publisher', 'acme-ci')).toEqual(ALL.slice(0, 4));
    expect(await list('--risk', 'high')).toEqual(['io.github.acme/filesystem@1.0.0']);
    expect(await list('--namespace', 'io.github.acme', '--risk', 'low')).toEqual(ALL.slice(0, 3));
    expect(await list('--publisher', 'nobody')).toEqual([]);
    expect(await ok(['review', 'list', '--publisher', 'nobody'], tokens.alice)).toContain('no pending versions');
  });

  describe('when the registry pages without end', () => {
    // A relay in front of the real registry rewrites the queue's answers: the same cursor again,
    // or full pages forever. `--all` must stop with a code, not loop or fill memory.
    let relay: Server;
    let mode: 'repeat' | 'endless' = 'repeat';
    beforeAll(async () => {
      relay = createServer((req, res) => {
        const url = new URL(req.url ?? '/', registry.url);
        void fetch(url, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (answer) => {
          const page = (await answer.json()) as Queue;
          const cursor = Number(url.searchParams.get('cursor') ?? '0');
          const rewritten: Queue =
            mode === 'repeat' ? { reviews: page.reviews, next: '7' } : { reviews: Array.from({ length: 500 }, (_, i) => page.reviews[i % page.reviews.length]!), next: String(cursor + 1) };
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(rewritten));
        });
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const viaRelay = async (args: string[]) => {
      const run = await sigilInProcess([...args, '--json'], { env: { SIGIL_REGISTRY: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`, SIGIL_TOKEN: tokens.alice! } });
      expect(run.code, run.stderr).toBe(1);
      return (JSON.parse(run.stdout) as { error: { code: string } }).error.code;
    };

    it('refuses a cursor it was already given as RESPONSE_INVALID', async () => {
      mode = 'repeat';
      expect(await viaRelay(['review', 'list', '--all', '--limit', '2'])).toBe('RESPONSE_INVALID');
    });

    it('stops at 100000 versions with LIST_TOO_LONG', async () => {
      mode = 'endless';
      expect(await viaRelay(['review', 'list', '--all'])).toBe('LIST_TOO_LONG');
    });
  });

  it('refuses a wrong --risk or --limit as wrong usage, and the registry refuses a forged cursor', async () => {
    expect((await sigil(['review', 'list', '--risk', 'medium'], tokens.alice)).code).toBe(2);
    expect((await sigil(['review', 'list', '--limit', '0'], tokens.alice)).code).toBe(2);
    expect((await sigil(['review', 'list', '--limit', '501'], tokens.alice)).code).toBe(2);
    const bad = await sigil(['review', 'list', '--cursor', 'not-a-cursor', '--json'], tokens.alice);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as { error: { code: string } }).error.code).toBe('REQUEST_INVALID');
  });
});

describe('sigil allowlist list', () => {
  it('shows the builders bound to an entry, in the human output and in --json', async () => {
    const builderId = 'https://github.com/actions/runner/github-hosted';
    await ok(['keygen', '--out', path('build.key')]);
    await ok(['allowlist', 'add-builder', 'io.github.acme', '--builder', builderId, '--public-key', path('build.key.pub')], registry.adminToken);
    await ok(['allowlist', 'add-builder', 'io.github.acme', '--builder', 'https://ci.acme.example/release', '--identity', 'https://ci.acme.example/release.yml@refs/heads/main'], registry.adminToken);
    type Listing = { entries: Array<{ pattern: string; signers: Array<{ fingerprint: string }>; builders: Array<{ builderId: string; kind: string; fingerprint: string }> }> };
    const listing = JSON.parse(await ok(['allowlist', 'list', '--json'], registry.adminToken)) as Listing;
    const acme = listing.entries.find((e) => e.pattern === 'io.github.acme')!;
    expect(acme.builders.map((b) => [b.builderId, b.kind])).toEqual([
      [builderId, 'key'],
      ['https://ci.acme.example/release', 'identity'],
    ]);
    expect(listing.entries.find((e) => e.pattern === 'io.github.other')!.builders).toEqual([]);

    const human = await ok(['allowlist', 'list'], registry.adminToken);
    const block = human.slice(human.indexOf('io.github.acme'), human.indexOf('io.github.other'));
    expect(block).toContain(`builder ${builderId}  key ${acme.builders[0]!.fingerprint}`);
    expect(block).toContain(`builder https://ci.acme.example/release  identity ${acme.builders[1]!.fingerprint}`);
    expect(block).toContain(`key ${acme.signers[0]!.fingerprint}`);
    // An entry without builders says so: provenance is refused there.
    expect(human.slice(human.indexOf('io.github.other'))).toContain('no builders');
  });
});

describe('sigil allowlist add with --ca', () => {
  type Entry = { signers: Array<{ identity?: string; ca?: string; fingerprint: string }>; builders: Array<{ builderId: string; identity?: string; ca?: string; fingerprint: string }> };
  const listing = async () => JSON.parse(await ok(['allowlist', 'list', '--json'], registry.adminToken)) as { entries: Array<Entry & { pattern: string }> };
  const REL = 'mailto:rel@legacy.example';
  const OLD = 'mailto:old@legacy.example';
  const CI = 'https://ci.legacy.example/release.yml@refs/heads/main';
  const BUILDER = 'https://ci.legacy.example/release';

  it('says a signer is already allowed only when the registry would bind it as stored, and replaces a legacy unbound identity', async () => {
    await ok(['ca', 'init', '--out', path('ca-a'), '--name', 'Legacy A CA']);
    await ok(['ca', 'init', '--out', path('ca-b'), '--name', 'Legacy B CA']);
    const A = certificateFingerprint(readFileSync(path('ca-a/ca.crt'), 'utf8'));
    await ok(['ca', 'register', '--ca', path('ca-a')], registry.adminToken);
    await ok(['allowlist', 'add', 'io.github.legacy', '--identity', REL], registry.adminToken);
    // One CA: the registry binds REL to it, as it is stored: already allowed is true.
    expect(await ok(['allowlist', 'add', 'io.github.legacy', '--identity', REL], registry.adminToken)).toContain('already allowed');
    await ok(['ca', 'register', '--ca', path('ca-b')], registry.adminToken);
    // Two CAs: without --ca the registry refuses REL, whatever CA it is stored under.
    const again = await sigil(['allowlist', 'add', 'io.github.legacy', '--identity', REL, '--json'], registry.adminToken);
    expect([again.code, (JSON.parse(again.stdout) as { error: { code: string } }).error.code]).toEqual([1, 'REQUEST_INVALID']);
    expect(await ok(['allowlist', 'add', 'io.github.legacy', '--identity', REL, '--ca', A], registry.adminToken)).toContain('already allowed');

    // What a registry that trusted two CAs before identities carried one holds: unbound rows.
    const db = openDatabase(join(registry.dataDir, 'registry.db'));
    await db.raw.run("insert into allowlist_signers (pattern, kind, value, fingerprint) values ('io.github.legacy', 'identity', ?, ?)", [OLD, OLD]);
    await db.raw.run("insert into allowlist_builders (pattern, builder_id, kind, value, fingerprint) values ('io.github.legacy', ?, 'identity', ?, ?)", [BUILDER, CI, CI]);
    await db.close();
    const out = await ok(['allowlist', 'add', 'io.github.legacy', '--identity', OLD, '--ca', path('ca-a')], registry.adminToken);
    expect(out).toContain(`replaced the unbound ${OLD}`);
    const built = await ok(['allowlist', 'add-builder', 'io.github.legacy', '--builder', BUILDER, '--identity', CI, '--ca', path('ca-a')], registry.adminToken);
    expect(built).toContain(`replaced the unbound ${CI}`);
    const legacy = (await listing()).entries.find((e) => e.pattern === 'io.github.legacy')!;
    expect(legacy.signers.map((s) => [s.identity, s.ca])).toEqual([[REL, A], [OLD, A]]);
    expect(legacy.builders.map((b) => [b.builderId, b.identity, b.ca])).toEqual([[BUILDER, CI, A]]);
  });
});
