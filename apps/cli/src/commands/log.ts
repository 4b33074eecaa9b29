import type { Command } from 'commander';
import { parseTrustedRoot, trustedLogs, type TrustedLog, type TrustedRootJson } from '@sigil/signing/verify';
import {
  checkEntryForEnvelope,
  encodeTileIndex,
  equalHashes,
  hashLeaf,
  merkleTreeHash,
  openCheckpoint,
  parseEntryBundle,
  TILE_WIDTH,
  TlogError,
  verifyTlogEntry,
  type Hash,
} from '@sigil/tlog';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { readBounded, writeAtomic } from '../files.js';
import { callRegistry, registryBase } from '../http.js';
import { registerLogMonitor } from './log-monitor.js';

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

async function theLog(ctx: Context, file: string | undefined): Promise<TrustedLog> {
  return (await trustedLogOf(ctx, file)).log;
}

/** The registry's newest checkpoint, opened with the log key for its origin. */
export async function openLatestCheckpoint(ctx: Context, log: TrustedLog) {
  const text = Buffer.from(await fetchBytes(ctx, '/v1/log/checkpoint', LOG_LIMITS.checkpointBytes)).toString('utf8');
  return refuseTlog(() => openCheckpoint(text, log.verifier, { origin: log.origin }));
}

export function refuseTlog<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TlogError) throw new CliError(e.code, e.message, [], 1, { cause: e });
    throw e;
  }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** `sigil log verify`, `sigil log monitor` and `sigil log proof <ref>`: check the registry's transparency log from the outside. */
export function registerLog(program: Command, ctx: Context): void {
  const log = program.command('log').description("check the registry's transparency log (docs/transparency-log.md)");
  log
    .command('verify')
    .description('re-derive the whole Merkle tree from the logged entries and compare it with the signed checkpoint')
    .option('--trusted-root <file>', 'pinned trusted root listing the log (default: the registry\'s /v1/trusted-root)')
    .action(async (opts: { trustedRoot?: string }) => {
      const theLogKey = await theLog(ctx, opts.trustedRoot);
      const { checkpoint: cp } = await openLatestCheckpoint(ctx, theLogKey);
      if (cp.size > LOG_LIMITS.maxEntries) throw new CliError('LOG_TOO_LARGE', `the log holds ${cp.size} entries; this command re-derives at most ${LOG_LIMITS.maxEntries}`);
      const leaves: Hash[] = [];
      for (let n = 0; n * TILE_WIDTH < cp.size; n++) {
        const width = Math.min(TILE_WIDTH, cp.size - n * TILE_WIDTH);
        const path = `/v1/log/tile/entries/${encodeTileIndex(n)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
        const bytes = await fetchBytes(ctx, path, LOG_LIMITS.tileBytes);
        leaves.push(...refuseTlog(() => parseEntryBundle(bytes, width)).map((e) => hashLeaf(e)));
      }
      const root = merkleTreeHash(leaves);
      if (!equalHashes(root, cp.root)) throw new CliError('LOG_INCONSISTENT', `the ${cp.size} logged entries hash to ${b64(root)}, but the signed checkpoint says ${b64(cp.root)}`);
      ctx.out.result({ origin: cp.origin, size: cp.size, root: b64(cp.root) }, `the log holds: ${cp.size} entries re-derive the signed root ${b64(cp.root)} (${cp.origin})`);
    });

  registerLogMonitor(log, ctx);

  log
    .command('proof')
    .description('the inclusion proof of a published version (name@version), checked against the signed checkpoint and the version\'s own signature')
    .argument('<ref>', 'name@version')
    .option('--trusted-root <file>', 'pinned trusted root listing the log (default: the registry\'s /v1/trusted-root)')
    .option('--bundle-out <file>', 'write the publisher\'s bundle carrying its tlogEntries item (what stock Sigstore verifiers check)')
    .action(async (ref: string, opts: { trustedRoot?: string; bundleOut?: string }) => {
      if (!/^[^@\s]{1,300}@[^@\s]{1,100}$/.test(ref)) throw new CliError('USAGE', 'the reference is name@version', [], 2);
      const theLogKey = await theLog(ctx, opts.trustedRoot);
      type Proof = { logIndex: number; treeSize: number; tlogEntry?: unknown; bundle?: { dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string }[] } } };
      const { body } = await callRegistry<Proof>(ctx, 'GET', `/v1/log/proof?leaf=${encodeURIComponent(ref)}`);
      if (!body.tlogEntry || !body.bundle?.dsseEnvelope) throw new CliError('ENTRY_INVALID', `the registry returned no signed log entry for ${ref}`);
      // On what was received: the checkpoint's signature by the log key, the inclusion proof from
      // the entry's leaf to its root (verifyTlogEntry), and that the entry records this bundle's signature.
      const verified = refuseTlog(() => verifyTlogEntry(body.tlogEntry, { logVerifier: theLogKey.verifier, logId: theLogKey.logId, origin: theLogKey.origin }));
      const env = body.bundle.dsseEnvelope;
      refuseTlog(() => checkEntryForEnvelope(verified.entry, { payloadType: env.payloadType, payload: Buffer.from(env.payload, 'base64'), signatures: env.signatures.map((s) => ({ sig: Buffer.from(s.sig, 'base64') })) }));
      if (opts.bundleOut) await writeAtomic(opts.bundleOut, `${JSON.stringify(body.bundle, null, 2)}\n`);
      const cp = verified.checkpoint.checkpoint;
      ctx.out.result(
        { ref, logIndex: verified.logIndex, treeSize: cp.size, root: b64(cp.root), origin: cp.origin, kind: verified.entry.kind },
        `${ref} is entry ${verified.logIndex} of ${cp.origin}, included in the signed checkpoint of size ${cp.size} (root ${b64(cp.root)})`,
      );
    });
}
