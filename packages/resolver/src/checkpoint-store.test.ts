import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trustedLogs, type TrustedLog } from '@sigil/signing/verify';
import { consistencyProof, ed25519NoteSigner, logOrigin, MemoryHashStore, signCheckpoint, transparencyLogInstance, treeRoot } from '@sigil/tlog';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from './checkpoint-store.js';
import { ResolveError } from './errors.js';
import { openLogCheckpoint, type LogCheckpoint } from './log-check.js';

// The floor update on its own (`CheckpointStore.advance`): real Ed25519-signed checkpoints over
// in-memory RFC 6962 trees, a real store directory. The race between two processes against the
// registry is test/host-log-split.test.ts.
const URL_ = 'https://registry.sigil.test/v1/log';
const origin = logOrigin(URL_);
const logKey = generateKeyPairSync('ed25519');
const logs: TrustedLog[] = trustedLogs({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [transparencyLogInstance({ baseUrl: URL_, publicKey: logKey.publicKey, validFrom: new Date(0) })],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as never);

// The genuine log, and a fork of it that differs from leaf 35 on.
const genuine = new MemoryHashStore();
const forked = new MemoryHashStore();
for (let i = 0; i < 60; i++) genuine.append(Buffer.alloc(32, i));
for (let i = 0; i < 60; i++) forked.append(Buffer.alloc(32, i < 35 ? i : 200 + i));
const at = (size: number, tree = genuine): LogCheckpoint =>
  openLogCheckpoint(signCheckpoint({ origin, size, root: treeRoot(size, tree), extensions: [] }, ed25519NoteSigner(origin, logKey.privateKey)), logs, 'registry');
const asked: Array<[number, number]> = [];
const prove =
  (tree = genuine) =>
  async (from: number, to: number) => {
    asked.push([from, to]);
    return consistencyProof(from, to, tree);
  };

let dir: string;
let store: CheckpointStore;
const stored = (): number => Number(readFileSync(store.checkpointPath, 'utf8').split('\n')[1]);
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (e instanceof ResolveError) return e.code;
    throw e;
  }
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-floor-'));
  store = new CheckpointStore(dir);
  asked.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('when the floor is what this process checked against', () => {
  it('stores the first checkpoint, then one that was proved to extend it, and writes nothing for the same tree', async () => {
    await store.advance(at(30), undefined, logs, prove());
    expect(stored()).toBe(30);
    await store.advance(at(40), at(30), logs, prove());
    expect(stored()).toBe(40);
    await store.advance(at(40), at(40), logs, prove());
    expect(stored()).toBe(40);
    expect(asked).toEqual([]);
  });
});

describe('when another process stored another checkpoint meanwhile', () => {
  it('stores a tree proved to extend it, and keeps a larger one proved to extend this one', async () => {
    await store.writeCheckpoint(at(40).verified.envelope);
    await store.advance(at(50), at(30), logs, prove());
    expect(stored()).toBe(50);
    expect(asked).toEqual([[40, 50]]);
    await store.writeCheckpoint(at(57).verified.envelope);
    await store.advance(at(52), at(40), logs, prove());
    expect(stored()).toBe(57);
    expect(asked).toEqual([
      [40, 50],
      [52, 57],
    ]);
  });

  it('refuses a fork of it, larger, smaller or of the same size, with LOG_INCONSISTENT and keeps it as the floor', async () => {
    await store.writeCheckpoint(at(45, forked).verified.envelope);
    expect(await code(store.advance(at(50), at(30), logs, prove()))).toBe('LOG_INCONSISTENT');
    expect(await code(store.advance(at(40), at(30), logs, prove()))).toBe('LOG_INCONSISTENT');
    expect(await code(store.advance(at(45), at(30), logs, prove()))).toBe('LOG_INCONSISTENT');
    expect(readFileSync(store.checkpointPath, 'utf8')).toBe(at(45, forked).verified.envelope);
    // The registry proving the fork's tree cannot help the tree this process was shown.
    expect(await code(store.advance(at(50), at(30), logs, prove(forked)))).toBe('LOG_INCONSISTENT');
  });

  it('refuses a stored checkpoint that no longer verifies (STORE_INVALID) instead of writing over it', async () => {
    const lines = at(40).verified.envelope.split('\n');
    lines[1] = '41';
    writeFileSync(store.checkpointPath, lines.join('\n'));
    expect(await code(store.advance(at(50), at(30), logs, prove()))).toBe('STORE_INVALID');
    expect(readFileSync(store.checkpointPath, 'utf8')).toBe(lines.join('\n'));
  });
});

describe('when a process died holding the floor lock', () => {
  it('breaks a lock older than any update takes and stores', async () => {
    const lock = join(dir, 'checkpoint.lock');
    writeFileSync(lock, '', { mode: 0o600 });
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    await store.advance(at(30), undefined, logs, prove());
    expect(stored()).toBe(30);
    // Released: the lock file is gone, and the next update takes it again.
    expect(existsSync(lock)).toBe(false);
    await store.advance(at(40), at(30), logs, prove());
    expect(stored()).toBe(40);
  });
});
