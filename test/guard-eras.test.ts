import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdio } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parseManifest, type Manifest } from '@sigil/manifest';
import { buildHostWorld, runSigil, sigilBin, type HostWorld } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Both protocol eras through the real `sigil run`, with the official SDKs as peers: a 2025 host
// (@modelcontextprotocol/sdk 1.x) and a 2026-07-28 host (@modelcontextprotocol/client 2.x, 'auto'
// and pinned), in front of a 2025-only server (sdk 1.x) and a dual-era server (@modelcontextprotocol/server 2.x).
const root = mkdtempSync(join(tmpdir(), 'sigil-guard-eras-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const servers = {
  legacy: { name: 'io.github.acme/sdk1-fixture', path: new URL('./fixtures/guard/sdk1-server.mjs', import.meta.url).pathname },
  dual: { name: 'io.github.acme/dual-fixture', path: new URL('./fixtures/guard/dual-server.mjs', import.meta.url).pathname },
};
type ServerKind = keyof typeof servers;
let world: HostWorld;
const seen: Partial<Record<ServerKind, Record<string, unknown>>> = {};

beforeAll(async () => {
  const manifests: Manifest[] = [];
  for (const [kind, server] of Object.entries(servers) as Array<[ServerKind, (typeof servers)[ServerKind]]>) {
    const out = join(root, `${kind}.json`);
    const init = await runSigil(['manifest', 'init', '--name', server.name, '--version', '1.0.0', '--out', out, '--json', '--', process.execPath, server.path]);
    expect(init.code, init.stderr).toBe(0);
    seen[kind] = JSON.parse(init.stdout) as Record<string, unknown>;
    manifests.push(parseManifest(readFileSync(out)));
  }
  world = await buildHostWorld(join(root, 'world'), manifests);
});

const runArgs = (kind: ServerKind): string[] => [sigilBin(), 'run', servers[kind].name, '--offline', '--', process.execPath, servers[kind].path];
const env = (drift: boolean | Record<string, string>): Record<string, string> => ({ PATH: process.env.PATH ?? '', ...(drift === true ? { DRIFT: '1' } : drift === false ? {} : drift) });

type Host = { connect(): Promise<void>; list(): Promise<string[]>; call(): Promise<string>; era(): string | undefined; close(): Promise<void>; log(): string };

/** Collects what `sigil run` wrote to stderr (its JSON log lines). */
function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () => text;
}

function legacyHost(kind: ServerKind, drift: boolean | Record<string, string> = false): Host {
  const client = new LegacyClient({ name: 'host-2025', version: '1.0.0' });
  const transport = new LegacyStdio({ command: process.execPath, args: runArgs(kind), cwd: world.dir, env: env(drift), stderr: 'pipe' });
  const log = collect(transport.stderr as NodeJS.ReadableStream | null);
  return {
    log,
    connect: () => client.connect(transport),
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async () => JSON.stringify((await client.callTool({ name: 'echo', arguments: { message: 'through sigil run' } })).content),
    era: () => 'legacy',
    close: () => client.close(),
  };
}

/** A subclass of the SDK's stdio transport: the SDK then probes on this connection, not on a sibling process. */
class InPlaceStdio extends ModernStdio {}

function modernHost(kind: ServerKind, mode: 'auto' | { pin: string }, drift: boolean | Record<string, string> = false, subscribe = false): Host {
  // With a listChanged handler the client opens subscriptions/listen, and list changes arrive on it.
  const listChanged = subscribe ? { listChanged: { tools: { onChanged: () => undefined } } } : {};
  // The probe waits for `sigil run` to start, verify the lock entry and check the tools: 5 s ran out
  // on a loaded 2-core machine ('auto' then fell back to 2025, pinned failed). A 2025-only server
  // answers the probe with an error at once, so the longer bound costs nothing when it is not needed.
  const client = new ModernClient({ name: 'host-2026', version: '1.0.0' }, { versionNegotiation: { mode, probe: { timeoutMs: 20_000 } }, ...listChanged });
  // 'auto' runs the SDK's probe on a sibling `sigil run`; pinned, the probe runs in place.
  const transport = new (mode === 'auto' ? ModernStdio : InPlaceStdio)({ command: process.execPath, args: runArgs(kind), cwd: world.dir, env: env(drift), stderr: 'pipe' });
  const log = collect(transport.stderr as NodeJS.ReadableStream | null);
  return {
    log,
    connect: () => client.connect(transport, { timeout: 20_000 }),
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async () => JSON.stringify((await client.callTool({ name: 'echo', arguments: { message: 'through sigil run' } })).content),
    era: () => client.getProtocolEra(),
    close: () => client.close(),
  };
}

const pairings: Array<[string, (drift?: boolean) => Host, ServerKind, string]> = [
  ['a 2025 host with a 2025 server', (d) => legacyHost('legacy', d), 'legacy', 'legacy'],
  ['a 2025 host with a dual-era server', (d) => legacyHost('dual', d), 'dual', 'legacy'],
  ["a modern host ('auto') with a dual-era server", (d) => modernHost('dual', 'auto', d), 'dual', 'modern'],
  ['a modern host (pinned to 2026-07-28) with a dual-era server', (d) => modernHost('dual', { pin: '2026-07-28' }, d), 'dual', 'modern'],
  ["a modern host ('auto') with a 2025-only server, falling back", (d) => modernHost('legacy', 'auto', d), 'legacy', 'legacy'],
];

describe.each(pairings)('%s, through sigil run', (_label, host, _kind, era) => {
  it('lists the pinned tools and answers a call', async () => {
    const h = host();
    await h.connect();
    expect(h.era()).toBe(era);
    expect(await h.list()).toEqual(['echo']);
    expect(await h.call()).toContain('echo: through sigil run');
    // A re-list (after the ttlMs, or simply again) is checked like the first.
    expect(await h.list()).toEqual(['echo']);
    await h.close();
  });

  it('stops a drifted server with TOOL_DRIFT', async () => {
    const h = host(true);
    const refused = await h.connect().then(
      () => undefined,
      (e: Error) => e,
    );
    await h.close().catch(() => undefined);
    expect(refused).toBeInstanceOf(Error);
    // The SDKs surface the refusal in the connect error, except the pinned modern client, which
    // reports only that discovery failed; sigil run's own log line says why.
    expect(`${refused!.message}\n${h.log()}`).toMatch(/TOOL_DRIFT/);
  });
});

describe.each([
  ['a 2025 host (tools/list_changed)', () => legacyHost('dual', { ADD_AFTER_MS: '1500' }), true],
  ["a modern host ('auto') listening on subscriptions/listen", () => modernHost('dual', 'auto', { ADD_AFTER_MS: '1500' }, true), true],
  ["a modern host ('auto') that only lists again (the re-list is checked)", () => modernHost('dual', 'auto', { ADD_AFTER_MS: '1500' }), false],
])('when the dual-era server adds a tool after the check, for %s', (_label, host, notified) => {
  it('refuses the session and the host never lists the new tool', async () => {
    const h = host();
    await h.connect();
    expect(await h.list()).toEqual(['echo']);
    await new Promise((r) => setTimeout(r, 2500));
    const after = await h.list().then(
      (names) => names,
      (e: Error) => e,
    );
    expect(after).toBeInstanceOf(Error);
    expect(h.log()).toContain('"code":"TOOL_DRIFT"');
    // Notified hosts: sigil run re-listed by itself on the change notice.
    expect(h.log().includes('sigil.run.recheck')).toBe(notified);
    await h.close();
  });
});

describe('sigil manifest init', () => {
  it('uses server/discover where the server offers the modern era, and records what it saw', () => {
    expect(seen.dual).toMatchObject({ protocol: { era: 'modern', version: '2026-07-28' } });
    expect(seen.legacy).toMatchObject({ protocol: { era: 'legacy' } });
  });
});
