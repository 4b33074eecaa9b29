import { randomBytes } from 'node:crypto';
import type { JsonRpcId } from './message.js';
import { SeqTable } from './seq-table.js';

/** What a proxy-owned request id stands for. */
export type Outstanding =
  | { origin: 'host'; hostId: JsonRpcId; method: string; cancelled: boolean; /** The pinned tool a `tools/call` names, or whose call started the task a `tasks/result` names (its result is checked against it). */ tool?: string | undefined; /** The task a `tasks/result` names. */ task?: string | undefined }
  | { origin: 'proxy'; method: string; settle: (answer: { result?: Record<string, unknown>; error?: Record<string, unknown> }) => void };

/**
 * Id mapping: every request that reaches the server carries an id the proxy chose (a string with a
 * per-run nonce), and a server response is matched only by exact equality with an outstanding one.
 * The SDKs resolve answers with `Number(id)`, so matching on anything looser (`"1"` for `1`, `1.0`)
 * would let a server answer a request past its check; here no number ever matches at all.
 */
export class IdMap {
  private readonly prefix = `sigil-${randomBytes(6).toString('hex')}-`;
  private seq = 0;
  /**
   * Keyed by the sequence number (seq-table.ts). A number key costs a fraction of a string key
   * built by concatenation, on every request and every answer.
   */
  private readonly byProxy = new SeqTable<Outstanding>();
  /**
   * Host requests cancelled before their answer came: only their sequence numbers, so a late answer
   * is still known (and dropped quietly) while the entry itself is gone and no longer scanned by
   * {@link IdMap.proxyIdOf}. Looked up only when a proxy id has no entry, never on the hot path.
   */
  private readonly cancelled = new Set<number>();

  /** `maxCancelled`: most cancelled requests whose late answer is still known (MAX_CANCELLED). */
  constructor(private readonly maxCancelled = MAX_CANCELLED) {}

  /** A fresh proxy id for a request. */
  issue(entry: Outstanding): string {
    this.byProxy.set(++this.seq, entry);
    return this.prefix + this.seq;
  }

  /**
   * The sequence number of a proxy id, only for the exact text `issue` wrote: this run's prefix and
   * the number in canonical decimal (no `01`, `1.0`, `1e0`, sign or space), so the match stays exact.
   */
  private seqOf(id: unknown): number | undefined {
    const at = this.prefix.length;
    if (typeof id !== 'string' || id.length <= at || id.length > at + 16 || !id.startsWith(this.prefix)) return undefined;
    // Digit by digit, without a slice and a number-to-string round trip per answer: `issue` never
    // writes a leading zero (the first is 1), and a number past 2^53 - 1 is not a safe integer.
    if (id.charCodeAt(at) === 0x30) return undefined;
    let seq = 0;
    for (let k = at; k < id.length; k++) {
      const digit = id.charCodeAt(k) - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      seq = seq * 10 + digit;
    }
    return Number.isSafeInteger(seq) ? seq : undefined;
  }

  /** What an exact proxy id stands for, left outstanding ({@link CANCELLED} for a cancelled one); `undefined` for anything else. */
  peek(id: unknown): Outstanding | undefined {
    const seq = this.seqOf(id);
    if (seq === undefined) return undefined;
    return this.byProxy.get(seq) ?? (this.cancelled.has(seq) ? CANCELLED : undefined);
  }

  /** Removes and returns what an exact proxy id stands for ({@link CANCELLED} for a cancelled one); `undefined` for anything else. */
  take(id: unknown): Outstanding | undefined {
    const seq = this.seqOf(id);
    if (seq === undefined) return undefined;
    const entry = this.byProxy.get(seq);
    if (entry !== undefined) {
      this.byProxy.delete(seq);
      return entry;
    }
    return this.cancelled.delete(seq) ? CANCELLED : undefined;
  }

  /**
   * The proxy id the host's latest outstanding request with this id travels under. A scan, not an
   * index: only `notifications/cancelled` asks, and an index would cost every request on the hot path.
   */
  proxyIdOf(hostId: unknown): string | undefined {
    if (typeof hostId !== 'string' && typeof hostId !== 'number') return undefined;
    let found: number | undefined;
    for (const [seq, entry] of this.byProxy.entries()) if (entry.origin === 'host' && entry.hostId === hostId) found = seq;
    return found === undefined ? undefined : this.prefix + found;
  }

  /**
   * Cancels a host request (MCP cancellation): its entry goes, and its late answer is dropped
   * quietly ({@link CANCELLED}). Returns the proxy id it travelled under.
   */
  cancel(hostId: unknown): string | undefined {
    const id = this.proxyIdOf(hostId);
    const seq = this.seqOf(id);
    if (seq === undefined || this.byProxy.get(seq)?.origin !== 'host') return undefined;
    this.byProxy.delete(seq);
    // Bounded: an answer after all (after MAX_CANCELLED later cancellations, against MCP's advice
    // not to answer a cancelled request) is then drift, as any answer to a request not outstanding.
    this.tombstone(seq);
    return id;
  }

  /**
   * Gives up on a request (the proxy's own that timed out, or an opening the host replaced): its
   * entry goes, and its late answer is dropped quietly ({@link CANCELLED}) rather than taken for
   * drift, as for a cancelled host request. Returns what it stood for.
   */
  abandon(id: string): Outstanding | undefined {
    const seq = this.seqOf(id);
    const entry = seq === undefined ? undefined : this.byProxy.get(seq);
    if (entry === undefined) return undefined;
    this.byProxy.delete(seq!);
    this.tombstone(seq!);
    return entry;
  }

  /** Bounded: past MAX_CANCELLED, the oldest is forgotten, and a late answer to it is then drift. */
  private tombstone(seq: number): void {
    if (this.cancelled.size >= this.maxCancelled) this.cancelled.delete(this.cancelled.values().next().value!);
    this.cancelled.add(seq);
  }

  /** Removes and returns every outstanding request (when the session ends); cancelled ones are forgotten. */
  drain(): Outstanding[] {
    const all = this.byProxy.entries().map(([, entry]) => entry);
    this.byProxy.clear();
    this.cancelled.clear();
    return all;
  }
}

/** Cancelled host requests whose late answer is still known (IdMap.cancel). */
export const MAX_CANCELLED = 16_384;

/** What a cancelled host request's proxy id stands for until its late answer comes: nothing to deliver. */
export const CANCELLED: Outstanding = Object.freeze({ origin: 'host', hostId: '', method: '', cancelled: true });
