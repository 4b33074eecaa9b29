import { checkpointCovering, logEntriesFor, logHashes } from '@sigil/db';
import { buildTlogEntry, inclusionProof, inclusionProofNodes, logOrigin, type TlogEntryJson } from '@sigil/tlog';
import type { Deps } from '../deps.js';
import { logId } from './read-log.js';

/**
 * The bundle's `tlogEntries` item for the `dsse` entry of `subject` (kind `manifest`), with its
 * inclusion proof in the **first** signed checkpoint that covers it: that checkpoint never
 * changes, so neither does the item, nor the record serving it. Undefined until that checkpoint
 * is signed (at once when the log was idle, else within `SIGIL_LOG_CHECKPOINT_MS`).
 */
export async function logEntryItem(deps: Deps, kind: string, subject: string): Promise<TlogEntryJson | undefined> {
  const row = (await logEntriesFor(deps.db, subject, kind)).find((e) => e.form === 'dsse');
  if (!row) return undefined;
  const cp = await checkpointCovering(deps.db, row.idx + 1);
  if (!cp) return undefined;
  // The registry signed this envelope over exactly this size and root; buildTlogEntry still
  // verifies the proof against that root before handing it out.
  const checkpoint = { origin: logOrigin(deps.settings.tlogUrl), size: cp.size, root: cp.root, extensions: [] };
  return buildTlogEntry({ body: row.body, logIndex: row.idx, proof: inclusionProof(row.idx, cp.size, await logHashes(deps.db, inclusionProofNodes(row.idx, cp.size))), checkpoint: { checkpoint, envelope: cp.envelope }, logId: logId(deps) });
}

/**
 * The publisher's bundle as stored, carrying its log entry (`verificationMaterial.tlogEntries`)
 * once a checkpoint covers it; as stored before that. A host whose trusted root lists the log
 * checks and counts the entry; one whose root predates the log ignores it (docs/transparency-log.md).
 */
export async function withLogEntry(deps: Deps, kind: string, subject: string, bundle: Record<string, unknown>): Promise<Record<string, unknown>> {
  const item = await logEntryItem(deps, kind, subject);
  if (!item) return bundle;
  return bundleWithEntry(bundle, item);
}

/** `bundle` with `item` as its one `verificationMaterial.tlogEntries` item. */
export function bundleWithEntry(bundle: Record<string, unknown>, item: TlogEntryJson): Record<string, unknown> {
  return { ...bundle, verificationMaterial: { ...(bundle.verificationMaterial as Record<string, unknown>), tlogEntries: [item] } };
}

const servedBundles = new WeakMap<Deps, Map<string, { stored: string; served: string; bytes?: Buffer }>>();

/**
 * The publisher's bundle text as {@link versionJson} serves it: the stored text with its log
 * entry once a checkpoint covers it. Once covered, the item never changes (the first covering
 * checkpoint, append-only log rows), so the served text is kept per subject beside the stored
 * text it was made from, and made again whenever the stored text differs: the database still
 * answers every read of the record, and a bundle changed behind the registry's back is served as
 * it now is (its old entry no longer matches its signature, so a host refuses it). Bounded:
 * cleared at 10,000 subjects. Until a checkpoint covers the entry nothing is kept.
 */
export async function bundleTextWithEntry(deps: Deps, subject: string, stored: string): Promise<string> {
  return (await servedBundle(deps, subject, stored)).served;
}

/**
 * {@link bundleTextWithEntry} as UTF-8 bytes, kept beside the served text: the checkpoint's
 * signed note carries a non-Latin-1 character (its signature line's em dash), which made every
 * version record a two-byte string, slow to measure and encode on every read.
 */
export async function bundleBytesWithEntry(deps: Deps, subject: string, stored: string): Promise<Buffer> {
  const kept = await servedBundle(deps, subject, stored);
  return (kept.bytes ??= Buffer.from(kept.served, 'utf8'));
}

async function servedBundle(deps: Deps, subject: string, stored: string): Promise<{ stored: string; served: string; bytes?: Buffer }> {
  let kept = servedBundles.get(deps);
  if (!kept) servedBundles.set(deps, (kept = new Map()));
  const hit = kept.get(subject);
  if (hit && hit.stored === stored) return hit;
  const item = await logEntryItem(deps, 'manifest', subject);
  if (!item) return { stored, served: stored };
  const entry = { stored, served: JSON.stringify(bundleWithEntry(JSON.parse(stored) as Record<string, unknown>, item)) };
  if (kept.size >= 10_000) kept.clear();
  kept.set(subject, entry);
  return entry;
}
