import { type CheckpointRow, type Db, insertCheckpoint, latestCheckpoint, logHashReader, logSize } from '@sigil/db';
import { ed25519NoteSigner, logOrigin, signCheckpoint, treeRoot } from '@sigil/tlog';
import type { Deps } from '../deps.js';

/**
 * Signs the log's checkpoints: at once when the log has been idle for the interval
 * (`SIGIL_LOG_CHECKPOINT_MS`), otherwise at most once per interval, so a burst of publishes
 * costs one signature per interval. One per database, whatever the Deps objects built over it.
 */
export class Checkpointer {
  private lastSignedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: { size: number; resolve: (cp: CheckpointRow) => void }[] = [];

  constructor(private readonly deps: Deps) {}

  /** Called after a transaction that appended to the log has committed. */
  appended(): void {
    if (this.timer) return;
    const wait = this.lastSignedAt + this.deps.settings.logCheckpointMs - Date.now();
    if (wait <= 0) {
      this.signNow();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.signNow();
      } catch (err) {
        // The next append or read signs again; a closed database (shutdown) ends here.
        this.deps.logger.error({ err }, 'signing a log checkpoint failed');
      }
    }, wait);
    this.timer.unref();
  }

  /** Signs a checkpoint of the current size unless the newest one already covers it. */
  signNow(): CheckpointRow {
    const db = this.deps.db;
    const size = logSize(db);
    let latest = latestCheckpoint(db);
    if (!latest || latest.size < size) {
      const origin = logOrigin(this.deps.settings.tlogUrl);
      const root = treeRoot(size, logHashReader(db));
      const envelope = signCheckpoint({ origin, size, root, extensions: [] }, ed25519NoteSigner(origin, this.deps.keys.logPrivateKey));
      const signedAt = new Date().toISOString();
      insertCheckpoint(db, { size, root, envelope, signedAt });
      latest = { size, root: Buffer.from(root), envelope, signedAt };
      this.lastSignedAt = Date.now();
    }
    const ready = latest;
    this.waiters = this.waiters.filter((w) => (w.size <= ready.size ? (w.resolve(ready), false) : true));
    return ready;
  }

  /** The first checkpoint covering `size` leaves (signed within the interval). */
  covering(size: number): Promise<CheckpointRow> {
    const latest = latestCheckpoint(this.deps.db);
    if (latest && latest.size >= size) return Promise.resolve(latest);
    return new Promise((resolve) => {
      this.waiters.push({ size, resolve });
      this.appended();
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
