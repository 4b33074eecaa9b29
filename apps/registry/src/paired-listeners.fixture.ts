import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { openStore, type Store } from '@sigil/db';
import { manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { createTestStore, weatherManifest } from '@sigil/testing';
import { pino } from 'pino';
import { createApp } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import type { Deps } from './deps.js';
import { createFront, unreadableRequest, type Front } from './front.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin, createToken } from './services/create-token.js';

/**
 * For the tests that hold a hot path (fast-reads.ts, fast-status.ts) equal to the Hono app: one
 * side of the comparison, a real server on 127.0.0.1 with its own metrics and a log whose lines
 * are kept, answering through `hotPath` in front of the app, or through the app alone.
 */
export interface PairedListener {
  server: Server;
  url: string;
  deps: Deps;
  lines: Array<Record<string, unknown>>;
  /** Requests the hot path passed on to Hono. */
  fallbacks: number;
}

type HotPath = (deps: Deps, front: Front, next: RequestListener) => RequestListener;

export async function startPairedListener(hotPath: HotPath | undefined, base: Deps, settings: Partial<Deps['settings']> = {}): Promise<PairedListener> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const deps: Deps = { ...base, settings: { ...base.settings, ...settings }, metrics: createMetrics(), logger: pino({ level: 'info' }, sink) };
  const front = createFront(deps);
  // As main.ts makes it: a request node-server makes no URL of is refused like the app's refusals.
  const hono = getRequestListener(createApp(deps, front).fetch, { errorHandler: unreadableRequest(deps) });
  const side = { lines, fallbacks: 0, deps } as PairedListener;
  const listener = hotPath
    ? hotPath(deps, front, (req, res) => {
        side.fallbacks++;
        void hono(req, res);
      })
    : hono;
  side.server = createServer(listener);
  await new Promise<void>((ok) => side.server.listen(0, '127.0.0.1', ok));
  side.url = `http://127.0.0.1:${(side.server.address() as AddressInfo).port}`;
  return side;
}

/**
 * The records both comparisons read, written through the app: a publisher, a reader and a
 * revoked reader token; `io.github.acme/weather` 1.0.0 approved, 1.1.0 approved then revoked,
 * 1.2.0 pending and 1.3.0 rejected. `admin` is the bootstrap token already in `deps`.
 */
export async function seedVersionStates(deps: Deps, admin: string): Promise<{ publisher: string; reader: string; revoked: string }> {
  const app = createApp(deps);
  const principal = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  const publisher = (await createToken(deps, principal, { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  const reader = (await createToken(deps, principal, { principal: 'host', role: 'reader' })).token;
  const alice = (await createToken(deps, principal, { principal: 'alice', role: 'security' })).token;
  const revoked = await createToken(deps, principal, { principal: 'gone', role: 'reader' });
  const publisherKey = generateKeyPair();
  const aliceKey = generateKeyPair();
  const send = async (path: string, token: string, body?: unknown, method = 'POST') => {
    const res = await app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  await send(`/v1/tokens/${revoked.id}`, admin, undefined, 'DELETE');
  await send('/v1/allowlist/io.github.acme', admin, { signers: [{ publicKey: publisherKey.publicKeyPem }] }, 'PUT');
  await send('/v1/reviewers', admin, { principal: 'alice', publicKey: aliceKey.publicKeyPem });
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
    const manifest = weatherManifest({ version });
    await send('/v1/publish', publisher, { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem })) });
    const v = `/v1/servers/${manifest.name}/versions/${version}`;
    if (version === '1.0.0' || version === '1.1.0') {
      const bundle = await signApprovalStatement({ name: manifest.name, version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk: 'high' }, createSigner({ privateKey: aliceKey.privateKeyPem }));
      await send(`${v}/approvals`, alice, { bundle });
    }
    if (version === '1.1.0') await send(`${v}/revocations`, alice, { reason: 'compromised' });
    if (version === '1.3.0') await send(`${v}/rejections`, alice, { reason: 'no' });
  }
  return { publisher, reader, revoked: revoked.token };
}

/** Both sides of a comparison on one seeded database (see `openPairedWorld`). */
export interface PairedWorld {
  database: Store;
  /** The hot path in front of the app, and the app alone. */
  fast: PairedListener;
  hono: PairedListener;
  tokens: { publisher: string; reader: string; revoked: string };
  /** One more hot-path side on the same database, with other settings; closed with the others. */
  side(settings: Partial<Deps['settings']>): Promise<PairedListener>;
  /** Closes every side and the database, drops it and removes its directory. */
  close(): Promise<void>;
}

/**
 * A registry database in a fresh directory named from `prefix` (SQLite, or PostgreSQL under
 * SIGIL_TEST_DIALECT), anonymous reads allowed, `admin` bootstrapped and `seedVersionStates`
 * written; `prepare` then runs on it before the two sides, `hotPath`'s and the app's, start.
 */
export async function openPairedWorld(hotPath: HotPath, prefix: string, admin: string, prepare?: (deps: Deps) => Promise<unknown>): Promise<PairedWorld> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = await createTestStore(dir);
  const database = await openStore(store);
  const sides: PairedListener[] = [];
  const close = async () => {
    await Promise.all(sides.map((s) => new Promise((ok) => s.server.close(ok))));
    await database.close();
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deps: Deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: { ...DEFAULT_SETTINGS, anonymousRead: true }, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
    await bootstrapAdmin(deps, admin);
    const tokens = await seedVersionStates(deps, admin);
    await prepare?.(deps);
    const side = async (fast: boolean, settings: Partial<Deps['settings']> = {}) => {
      const s = await startPairedListener(fast ? hotPath : undefined, deps, settings);
      sides.push(s);
      return s;
    };
    return { database, fast: await side(true), hono: await side(false), tokens, side: (settings) => side(true, settings), close };
  } catch (e) {
    await close();
    throw e;
  }
}
