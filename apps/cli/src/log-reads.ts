import { parseTrustedRoot, trustedLogs, type TrustedLog, type TrustedRootJson } from '@sigil/signing/verify';
import { acceptCheckpoint, consistencyProof, type Hash, MemoryHashStore, openCheckpoint, TlogError } from '@sigil/tlog';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { readBounded, writeAtomic } from './files.js';
import { callRegistry, registryBase } from './http.js';

/* What `sigil log verify|proof|monitor` share: bounded reads of the log's resources and its key. */

/** Bounds on what the log commands read: one tile, one checkpoint, the whole log. */
export const LOG_LIMITS = { tileBytes: 256 * (2 + 65_535), checkpointBytes: 256 * 1024, timeoutMs: 30_000, maxEntries: 10_000_000, trustedRootBytes: 1024 * 1024 };

/** Bytes from the registry (tiles and checkpoints are not JSON), bounded in size and time. */
export async function fetchBytes(ctx: Context, path: string, maxBytes: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(`${registryBase(ctx)}${path}`, {
      headers: ctx.globals().token ? { authorization: `Bearer ${ctx.globals().token}` } : {},
      signal: AbortSignal.timeout(LOG_LIMITS.timeoutMs),
      redirect: 'error',
    });
  } catch (cause) {
    throw new CliError('REGISTRY_UNREACHABLE', `the registry did not answer ${path}: ${(cause as Error).message}`, [], 1, { cause });
  }
  if (res.status >= 400) {
    // A refusal is problem+json: let the JSON client report it with its code and request id.
    await res.body?.cancel();
    await callRegistry(ctx, 'GET', path);
    throw new CliError(`HTTP_${res.status}`, `the registry answered HTTP ${res.status} for ${path}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += (chunk as Uint8Array).length;
    if (total > maxBytes) throw new CliError('RESPONSE_TOO_LARGE', `the registry's answer to ${path} is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}

/**
 * The log to check against: from a pinned trusted root file (--trusted-root), else the
 * registry's own /v1/trusted-root (trust on first use: pin the file to detect a swapped key).
 */
export async function trustedLogOf(ctx: Context, file: string | undefined): Promise<{ log: TrustedLog; root: TrustedRootJson }> {
  const json = file ? JSON.parse(Buffer.from(await readBounded(file, LOG_LIMITS.trustedRootBytes)).toString('utf8')) : (await callRegistry(ctx, 'GET', '/v1/trusted-root')).body;
  const root = parseTrustedRoot(json).json;
  const logs = trustedLogs(root);
  if (logs.length === 0) throw new CliError('LOG_UNKNOWN', 'the trusted root lists no Ed25519 transparency log');
  return { log: logs[0]!, root };
}

/** The registry's newest checkpoint, opened with the log key for its origin. */
export async function openLatestCheckpoint(ctx: Context, log: TrustedLog) {
  const text = Buffer.from(await fetchBytes(ctx, '/v1/log/checkpoint', LOG_LIMITS.checkpointBytes)).toString('utf8');
  return refuseTlog(() => openCheckpoint(text, log.verifier, { origin: log.origin }));
}

/** Runs a @sigil/tlog check, turning its refusal into the CLI error of the same code. */
export function refuseTlog<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TlogError) throw new CliError(e.code, e.message, [], 1, { cause: e });
    throw e;
  }
}

/**
 * `--checkpoint <file>` of `sigil log verify|monitor`: the signed checkpoint of the last run that
 * passed, its exact note. A run that keeps only a size trusts the registry's hashes below it; one
 * that keeps the note refuses a log rewritten below it.
 */
export const floorFile = {
  /** The stored note and its size (opened with the pinned log key: `NOTE_*`, `CHECKPOINT_*`); undefined on the first run (no file yet). */
  async read(path: string, log: TrustedLog): Promise<{ envelope: string; size: number } | undefined> {
    let envelope: string;
    try {
      envelope = Buffer.from(await readBounded(path, LOG_LIMITS.checkpointBytes)).toString('utf8');
    } catch (e) {
      if (e instanceof CliError && e.code === 'FILE_NOT_FOUND') return undefined;
      throw e;
    }
    return { envelope, size: refuseTlog(() => openCheckpoint(envelope, log.verifier, { origin: log.origin })).checkpoint.size };
  },
  /**
   * Whether the newest checkpoint extends the stored one, decided by `acceptCheckpoint` of
   * @sigil/tlog (`LOG_ROLLBACK`, `LOG_INCONSISTENT`) over a consistency proof computed from
   * `leaves`: every leaf hash of the newest tree, already checked to re-derive its signed root.
   */
  check(stored: { envelope: string; size: number }, latest: string, leaves: readonly Hash[], log: TrustedLog): void {
    const tree = new MemoryHashStore();
    for (const leaf of leaves) tree.append(leaf);
    refuseTlog(() => {
      const proof = stored.size <= leaves.length ? consistencyProof(stored.size, leaves.length, tree) : [];
      acceptCheckpoint({ stored: stored.envelope, next: latest, proof, logVerifier: log.verifier, origin: log.origin });
    });
  },
  /** Stores the newest checkpoint once a run passed (atomically). */
  write: (path: string, envelope: string): Promise<void> => writeAtomic(path, envelope),
};
