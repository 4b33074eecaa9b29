import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { digestHex, VersionRecord, type Digest } from '@sigil/manifest';
import type { VerificationCache } from '@sigil/signing/verify';
import { z } from 'zod';
import { readBoundedText, writeJsonAtomic } from './lockfile.js';

const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** What the host remembers between starts, beside the lockfile (`sigil.lock.state.json`). */
export const HostState = z.strictObject({
  /** Issue time of the newest status statement this host accepted: an older one is a replay. */
  lastStatusIssuedAt: z.iso.datetime({ offset: false }).optional(),
});
export type HostState = z.infer<typeof HostState>;

/**
 * The host's local store: a content-addressed cache of version records (by manifest digest),
 * the last verified status bundle, the persisted crypto verification results, and the small
 * state file that makes status replays detectable. Everything read back is verified again.
 */
export class HostStore {
  constructor(
    readonly cacheDir: string,
    readonly statePath: string,
  ) {}

  /** Default locations beside a lockfile: `.sigil-cache/` and `<lock>.state.json`. */
  static besideLockfile(lockfilePath: string): HostStore {
    const dir = dirname(lockfilePath);
    return new HostStore(join(dir, '.sigil-cache'), lockfilePath.replace(/\.json$/, '') + '.state.json');
  }

  async readState(): Promise<HostState> {
    try {
      const parsed = HostState.safeParse(JSON.parse(await readBoundedText(this.statePath, 64 * 1024)));
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }

  async writeState(state: HostState): Promise<void> {
    await writeJsonAtomic(this.statePath, state);
  }

  /** A cached version record whose manifest has this digest (the caller verifies it all again). */
  async readRecord(digest: Digest): Promise<VersionRecord | undefined> {
    const text = await this.readRecordText(digest);
    if (text === undefined) return undefined;
    try {
      const parsed = VersionRecord.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** The exact text of a cached record, unparsed. */
  async readRecordText(digest: Digest): Promise<string | undefined> {
    try {
      return await readBoundedText(join(this.cacheDir, 'records', `${digestHex(digest)}.json`), MAX_RECORD_BYTES);
    } catch {
      return undefined;
    }
  }

  /** Kept record proofs (see RecordProof), keyed by record bytes and policy. */
  async readProofs(): Promise<Record<string, unknown>> {
    try {
      const value = JSON.parse(await readBoundedText(join(this.cacheDir, 'proofs.json'), MAX_CACHE_BYTES)) as unknown;
      return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  async writeProofs(proofs: Record<string, unknown>): Promise<void> {
    await mkdir(this.cacheDir, { recursive: true });
    await writeJsonAtomic(join(this.cacheDir, 'proofs.json'), proofs);
  }

  async writeRecord(record: VersionRecord): Promise<void> {
    await mkdir(join(this.cacheDir, 'records'), { recursive: true });
    await writeJsonAtomic(join(this.cacheDir, 'records', `${digestHex(record.digest)}.json`), record);
  }

  /** The last status bundle that verified, as received. */
  async readStatus(): Promise<unknown> {
    try {
      return JSON.parse(await readBoundedText(join(this.cacheDir, 'status.json'), MAX_RECORD_BYTES));
    } catch {
      return undefined;
    }
  }

  async writeStatus(bundle: unknown): Promise<void> {
    await mkdir(this.cacheDir, { recursive: true });
    await writeJsonAtomic(join(this.cacheDir, 'status.json'), bundle);
  }

  /** Loads persisted crypto results into a verification cache (a miss only costs time). */
  async loadVerified(cache: VerificationCache): Promise<void> {
    try {
      cache.load(JSON.parse(await readBoundedText(join(this.cacheDir, 'verified.json'), MAX_CACHE_BYTES)));
    } catch {
      // no cache yet, or unreadable: verify from scratch
    }
  }

  async saveVerified(cache: VerificationCache): Promise<void> {
    await mkdir(this.cacheDir, { recursive: true });
    await writeJsonAtomic(join(this.cacheDir, 'verified.json'), cache.toJSON());
  }
}
