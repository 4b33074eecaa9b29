import type { Command } from 'commander';
import type { TrustedLog } from '@sigil/signing/verify';
import {
  checkEntryForEnvelope,
  encodeTileIndex,
  equalHashes,
  hashLeaf,
  merkleTreeHash,
  parseEntryBundle,
  TILE_WIDTH,
  verifyTlogEntry,
  type Hash,
} from '@sigil/tlog';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { writeAtomic } from '../files.js';
import { callRegistry } from '../http.js';
import { fetchBytes, floorFile, LOG_LIMITS, openLatestCheckpoint, refuseTlog, trustedLogOf } from '../log-reads.js';
import { registerLogMonitor } from './log-monitor.js';

async function theLog(ctx: Context, file: string | undefined): Promise<TrustedLog> {
  return (await trustedLogOf(ctx, file)).log;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** `sigil log verify`, `sigil log monitor` and `sigil log proof <ref>`: check the registry's transparency log from the outside. */
export function registerLog(program: Command, ctx: Context): void {
  const log = program.command('log').description("check the registry's transparency log (docs/transparency-log.md)");
  log
    .command('verify')
    .description('re-derive the whole Merkle tree from the logged entries and compare it with the signed checkpoint')
    .option('--trusted-root <file>', 'pinned trusted root listing the log (default: the registry\'s /v1/trusted-root)')
    .option('--checkpoint <file>', 'the signed checkpoint of the last run that passed, kept between runs: refuses a log that does not extend it (LOG_ROLLBACK, LOG_INCONSISTENT), and stores the new one when it passes')
    .action(async (opts: { trustedRoot?: string; checkpoint?: string }) => {
      const theLogKey = await theLog(ctx, opts.trustedRoot);
      const floor = opts.checkpoint === undefined ? undefined : await floorFile.read(opts.checkpoint, theLogKey);
      const latest = await openLatestCheckpoint(ctx, theLogKey);
      const cp = latest.checkpoint;
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
      if (opts.checkpoint !== undefined) {
        if (floor !== undefined) floorFile.check(floor, latest.envelope, leaves, theLogKey);
        await floorFile.write(opts.checkpoint, latest.envelope);
      }
      // Say where the floor went, so a first run's silent file is not a surprise.
      const kept = opts.checkpoint === undefined ? '' : `; ${floor === undefined ? 'first run, ' : `extends the last passing run's size ${floor.size}, `}checkpoint kept in ${opts.checkpoint}`;
      ctx.out.result({ origin: cp.origin, size: cp.size, root: b64(cp.root) }, `the log holds: ${cp.size} entries re-derive the signed root ${b64(cp.root)} (${cp.origin})${kept}`);
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
