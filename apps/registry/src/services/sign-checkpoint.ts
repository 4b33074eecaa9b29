import { appendLogEntries, auditTip, type CheckpointRow, type Db, insertCheckpoint, latestCheckpoint, logEntriesFor, logHashes, logSize } from '@sigil/db';
import { ed25519NoteSigner, logOrigin, signCheckpoint, treeRoot, treeRootNodes } from '@sigil/tlog';
import type { Deps } from '../deps.js';
import { eventLogEntry } from './log-event.js';

/** The least time between two looks for leaves no checkpoint covers (Checkpointer.start). */
const MIN_CATCH_UP_MS = 1000;

/**
 * Signs the log's checkpoints: at once when the log has been idle for the interval
 * (`SIGIL_LOG_CHECKPOINT_MS`), otherwise at most once per interval, so a burst of publishes
 * costs one signature per interval. One per database, whatever the Deps objects built over it.
 */
export class Checkpointer {
  private lastSignedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private catchUp: NodeJS.Timeout | undefined;
  private waiters: { size: number; resolve: (cp: CheckpointRow) => void }[] = [];

  constructor(private readonly deps: Deps) {}

  /**
   * For a running registry (main.ts): signs at once what the log holds beyond its newest
   * checkpoint, then looks again every interval (at least {@link MIN_CATCH_UP_MS}). Leaves another
   * instance on the same database appended and never signed (it was stopped or killed before its
   * interval ended) are then covered by any instance still running, not only at the next write.
   */
  async start(): Promise<void> {
    if (this.catchUp) return;
    const look = (): void => {
      this.signIfBehind().catch((err: unknown) => this.deps.logger.error({ err }, 'signing a log checkpoint failed'));
    };
    await this.signIfBehind();
    this.catchUp = setInterval(look, Math.max(this.deps.settings.logCheckpointMs, MIN_CATCH_UP_MS));
    this.catchUp.unref();
  }

  /** Before the database closes (shutdown): no more looking, and what waits for the interval is signed now. */
  async stop(): Promise<void> {
    clearInterval(this.catchUp);
    this.catchUp = undefined;
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.signNow();
  }

  /** Signs unless the newest checkpoint covers the log: two indexed reads when it does. */
  private async signIfBehind(): Promise<void> {
    if (this.timer) return;
    const [size, newest] = await Promise.all([logSize(this.deps.db), latestCheckpoint(this.deps.db)]);
    if (size > (newest?.size ?? 0)) await this.signNow();
  }

  /** Called after a transaction that appended to the log has committed. */
  async appended(): Promise<void> {
    if (this.timer) return;
    const wait = this.lastSignedAt + this.deps.settings.logCheckpointMs - Date.now();
    if (wait <= 0) {
      await this.signNow();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.signNow().catch((err: unknown) => {
        // The next append or read signs again; a closed database (shutdown) ends here.
        this.deps.logger.error({ err }, 'signing a log checkpoint failed');
      });
    }, wait);
    this.timer.unref();
  }

  /**
   * Signs a checkpoint of the current size unless the newest one already covers it. First, in
   * the same transaction, the audit chain's head (`{seq, hash}`) is appended when the log does
   * not hold it yet: every checkpoint then covers the head of the audit chain as it was, so a
   * truncated or rewritten chain no longer matches a logged head (docs/transparency-log.md).
   */
  async signNow(): Promise<CheckpointRow> {
    const origin = logOrigin(this.deps.settings.tlogUrl);
    const signedAt = new Date().toISOString();
    const { latest, signed } = await this.deps.db.transaction(async (tx) => {
      const size = await logSize(tx);
      const newest = await latestCheckpoint(tx);
      if (newest && newest.size >= size) return { latest: newest, signed: false };
      const head = await auditTip(tx);
      const subject = `audit:${head.seq}`;
      if (head.seq > 0 && (await logEntriesFor(tx, subject, 'audit-head')).length === 0) await appendLogEntries(tx, [eventLogEntry('audit-head', subject, { audit: head, at: signedAt })], signedAt);
      const total = await logSize(tx);
      const root = treeRoot(total, await logHashes(tx, treeRootNodes(total)));
      const envelope = signCheckpoint({ origin, size: total, root, extensions: [] }, ed25519NoteSigner(origin, this.deps.keys.logPrivateKey));
      await insertCheckpoint(tx, { size: total, root, envelope, signedAt });
      return { latest: { size: total, root: Buffer.from(root), envelope, signedAt }, signed: true };
    });
    if (signed) this.lastSignedAt = Date.now();
    this.waiters = this.waiters.filter((w) => (w.size <= latest.size ? (w.resolve(latest), false) : true));
    return latest;
  }

  /** The first checkpoint covering `size` leaves (signed within the interval). */
  async covering(size: number): Promise<CheckpointRow> {
    const latest = await latestCheckpoint(this.deps.db);
    if (latest && latest.size >= size) return latest;
    return new Promise((resolve, reject) => {
      this.waiters.push({ size, resolve });
      this.appended().catch(reject);
    });
  }
}

const byDb = new WeakMap<Db, Checkpointer>();

/** The checkpointer of this registry's database. */
export function checkpointer(deps: Deps): Checkpointer {
  let c = byDb.get(deps.db);
  if (!c) {
    c = new Checkpointer(deps);
    byDb.set(deps.db, c);
  }
  return c;
}
