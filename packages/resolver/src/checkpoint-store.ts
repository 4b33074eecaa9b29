// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { deferSchema, digestHex, LogProofEntry, type Digest } from '@sigil/manifest';
import type { TrustedLog } from '@sigil/signing/verify';
import { checkLogExtension } from '@sigil/tlog';
import { z } from 'zod';
import { ResolveError } from './errors.js';
import { readBoundedText, writeJsonAtomic, writeTextAtomic } from './lockfile.js';
import { STORE_DIR_MODE, STORE_FILE_MODE, StoreGuard } from './store-safety.js';
import { withStoreLock } from './store-lock.js';
import { checkLogged, logRefusal, openLogCheckpoint, type LogCheckpoint } from './log-check.js';
import type { VerifiedVersion } from './verify-version.js';

/** A signed note is at most 256 KiB (C2SP signed-note bound kept by @sigil/tlog). */
const MAX_CHECKPOINT_BYTES = 256 * 1024;
const MAX_PROOF_BYTES = 8 * 1024 * 1024;
/** Times the floor may move under one process storing its own checkpoint before it gives up. */
const MAX_ADVANCE_TURNS = 16;

function sameTree(a: LogCheckpoint, b: LogCheckpoint): boolean {
  const [x, y] = [a.verified.checkpoint, b.verified.checkpoint];
  return a.log.logId.equals(b.log.logId) && x.size === y.size && Buffer.from(x.root).equals(Buffer.from(y.root));
}

/**
 * A locked version's log proofs as stored beside its record: the checkpoint they were verified
 * against online (exact signed note) and the entries used, each with its inclusion proof.
 */
const StoredLogProof = deferSchema(() => z.strictObject({
  checkpoint: z.string().min(1).max(MAX_CHECKPOINT_BYTES),
  // The wire shape without its base64 patterns: checkLogged decodes every field strictly anyway.
  entries: z.array(LogProofEntry.extend({ body: z.string().max(87_384), hashes: z.array(z.string().max(44)).max(128) })).max(65),
}));
type StoredLogProof = z.infer<typeof StoredLogProof>;

/**
 * The host's log state beside the lockfile: `checkpoint`, the newest checkpoint it accepted
 * (a signed note, its exact bytes, opened with the pinned log key on every load), and
 * `proofs/<hex of the manifest digest>.json` per locked version. Like the stored status, the
 * checkpoint is a floor: one that no longer verifies is `STORE_INVALID`, never reset silently.
 */
export class CheckpointStore {
  /** `guard`: the mode and owner checks of the store it is part of (`STORE_UNSAFE`). */
  constructor(
    readonly cacheDir: string,
    private readonly guard = new StoreGuard(cacheDir),
  ) {}

  /** Path of the stored checkpoint (a C2SP signed note). */
  get checkpointPath(): string {
    return join(this.cacheDir, 'checkpoint');
  }

  private proofPath(digest: Digest): string {
    return join(this.cacheDir, 'proofs', `${digestHex(digest)}.json`);
  }

  /** The stored checkpoint, verified under the pinned logs; absent: none yet. */
  async checkpoint(logs: readonly TrustedLog[]): Promise<LogCheckpoint | undefined> {
    this.guard.dirs();
    let text: string;
    try {
      text = await readBoundedText(this.checkpointPath, MAX_CHECKPOINT_BYTES, this.guard.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof ResolveError) throw e;
      throw ResolveError.of('', 'STORE_INVALID', `cannot read the stored log checkpoint ${this.checkpointPath}: ${(e as Error).message}`, undefined, e);
    }
    try {
      return openLogCheckpoint(text, logs, 'store');
    } catch (e) {
      throw ResolveError.of(
        '',
        'STORE_INVALID',
        `${(e as Error).message} (${this.checkpointPath}); it is this host's floor for the log, so it is not discarded silently: after a deliberate log key rotation, remove the file`,
        undefined,
        e,
      );
    }
  }

  /**
   * Moves the floor to `next`, a checkpoint this process accepted against `base` (the stored
   * checkpoint it read before; undefined: none). Another process of this host (two `sigil run`
   * started together) may have stored another checkpoint meanwhile, maybe shown another fork of
   * the log: each accepted tree alone extends `base`, so the two must be related here, or the
   * host would have seen a split view and kept no trace of it. So the stored checkpoint is read
   * again: when it moved, `next` must be a prefix of it (it is kept) or extend it (`next` is
   * stored), each proved with an RFC 9162 consistency proof from `prove`; a fork is
   * `LOG_INCONSISTENT`, and the stored one stays the floor. The last read and the write happen
   * under `checkpoint.lock`, so every checkpoint stored extends the one stored before it (what
   * the offline check of stored proofs relies on).
   * @throws ResolveError `LOG_INCONSISTENT`, `STORE_INVALID`
   */
  async advance(next: LogCheckpoint, base: LogCheckpoint | undefined, logs: readonly TrustedLog[], prove: (from: number, to: number) => Promise<Uint8Array[]>): Promise<void> {
    // Each turn either ends or starts from a checkpoint another process stored since the last one.
    for (let expected = base, turn = 0; turn < MAX_ADVANCE_TURNS; turn++) {
      if (expected && sameTree(expected, next)) return; // unchanged: whatever is stored since extends it
      const current = await this.checkpoint(logs);
      if (current && !(expected && sameTree(current, expected))) {
        if (await this.related(current, next, prove)) return;
        expected = current;
        continue;
      }
      if (!current) expected = undefined; // none (or removed by hand after a key rotation): the first again
      const wrote = await withStoreLock(this.cacheDir, 'checkpoint.lock', async () => {
        const again = await this.checkpoint(logs);
        if (again === undefined ? expected !== undefined : !(expected && sameTree(again, expected))) return false;
        await this.writeCheckpoint(next.verified.envelope);
        return true;
      });
      if (wrote) return;
    }
    throw ResolveError.of('', 'STORE_INVALID', `the stored log checkpoint ${this.checkpointPath} changed ${MAX_ADVANCE_TURNS} times while this process was storing its own`);
  }

  /**
   * How `next` relates to `current`, a checkpoint another process stored: true when `current`
   * extends it (keep `current`), false when `next` extends `current` (store `next`).
   * @throws ResolveError `LOG_INCONSISTENT` (a fork: neither extends the other)
   */
  private async related(current: LogCheckpoint, next: LogCheckpoint, prove: (from: number, to: number) => Promise<Uint8Array[]>): Promise<boolean> {
    if (!current.log.logId.equals(next.log.logId)) {
      throw ResolveError.of('', 'LOG_INCONSISTENT', 'another process of this host stored a log checkpoint signed by another log key meanwhile; after a deliberate log key rotation, remove the stored checkpoint');
    }
    const [a, b] = [current.verified.checkpoint, next.verified.checkpoint];
    const [older, newer] = a.size >= b.size ? [b, a] : [a, b];
    const proof = newer.size > older.size ? await prove(older.size, newer.size) : [];
    try {
      checkLogExtension(older, newer, proof);
    } catch (e) {
      logRefusal(e, `another process of this host stored the log tree of size ${a.size} meanwhile, and this one was shown a tree of size ${b.size}: `);
    }
    return a.size >= b.size;
  }

  async writeCheckpoint(envelope: string): Promise<void> {
    await fsp.mkdir(this.cacheDir, { recursive: true, mode: STORE_DIR_MODE });
    await writeTextAtomic(this.checkpointPath, envelope, STORE_FILE_MODE);
  }

  /** The stored proof text of a version (verified by whoever uses it); undefined when absent or unreadable, `STORE_UNSAFE` when others could have written it. */
  async proofText(digest: Digest): Promise<string | undefined> {
    this.guard.dirs(join(this.cacheDir, 'proofs'));
    try {
      return await readBoundedText(this.proofPath(digest), MAX_PROOF_BYTES, this.guard.file);
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      return undefined;
    }
  }

  async writeProof(digest: Digest, proof: StoredLogProof): Promise<void> {
    await fsp.mkdir(join(this.cacheDir, 'proofs'), { recursive: true, mode: STORE_DIR_MODE });
    await writeJsonAtomic(this.proofPath(digest), proof, STORE_FILE_MODE);
  }

  async clear(): Promise<void> {
    await fsp.rm(join(this.cacheDir, 'proofs'), { recursive: true, force: true });
  }
}

/**
 * Offline (or the fallback): a verified version's stored log proof, checked against the stored
 * checkpoint without the network. The proof's own checkpoint must open with the same log key
 * and be no newer than the stored one (same size: same root); it is the tree this version was
 * proved in online, which the stored checkpoint extends, since each checkpoint accepted was
 * proved an extension of the one stored before it. Then every signature the version relies on
 * must be in that tree ({@link checkLogged}). `opened` memoises checkpoint signatures (most
 * proofs share one).
 */
export function checkStoredProof(v: VerifiedVersion, text: string | undefined, stored: LogCheckpoint, logs: readonly TrustedLog[], opened: Map<string, LogCheckpoint>): void {
  const ref = `${v.name}@${v.version}`;
  if (text === undefined) throw ResolveError.of(v.name, 'REGISTRY_UNREACHABLE', `the store holds no log proof of ${ref}: resolve once with the registry reachable`);
  let proof: StoredLogProof;
  try {
    proof = StoredLogProof.parse(JSON.parse(text));
  } catch (e) {
    throw ResolveError.of(v.name, 'STORE_INVALID', `the stored log proof of ${ref} is malformed`, undefined, e);
  }
  let cp = opened.get(proof.checkpoint);
  if (!cp) {
    cp = openLogCheckpoint(proof.checkpoint, logs, 'store');
    opened.set(proof.checkpoint, cp);
  }
  const floor = stored.verified.checkpoint;
  const mine = cp.verified.checkpoint;
  const sameRoot = Buffer.from(mine.root).equals(Buffer.from(floor.root));
  if (!cp.log.logId.equals(stored.log.logId) || mine.size > floor.size || (mine.size === floor.size && !sameRoot)) {
    throw ResolveError.of(v.name, 'STORE_INVALID', `the stored log proof of ${ref} is for a tree (size ${mine.size}) the stored checkpoint (size ${floor.size}) does not extend: resolve once with the registry reachable`);
  }
  checkLogged(v, proof.entries, mine, cp.log.logId);
}
