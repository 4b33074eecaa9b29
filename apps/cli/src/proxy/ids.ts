import { randomBytes } from 'node:crypto';
import type { JsonRpcId } from './message.js';

/** What a proxy-owned request id stands for. */
export type Outstanding =
  | { origin: 'host'; hostId: JsonRpcId; method: string; cancelled: boolean }
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
  /** In the order issued (a Map keeps insertion order). */
  private readonly byProxy = new Map<string, Outstanding>();

  /** A fresh proxy id for a request. */
  issue(entry: Outstanding): string {
    const id = this.prefix + ++this.seq;
    this.byProxy.set(id, entry);
    return id;
  }

  /** What an exact proxy id stands for, left outstanding; `undefined` for anything else. */
  peek(id: unknown): Outstanding | undefined {
    return typeof id === 'string' ? this.byProxy.get(id) : undefined;
  }

  /** Removes and returns what an exact proxy id stands for; `undefined` for anything else. */
  take(id: unknown): Outstanding | undefined {
    if (typeof id !== 'string') return undefined;
    const entry = this.byProxy.get(id);
    if (entry !== undefined) this.byProxy.delete(id);
    return entry;
  }

  /**
   * The proxy id the host's latest outstanding request with this id travels under. A scan, not an
   * index: only `notifications/cancelled` asks, and an index would cost every request on the hot path.
   */
  proxyIdOf(hostId: unknown): string | undefined {
    if (typeof hostId !== 'string' && typeof hostId !== 'number') return undefined;
    let found: string | undefined;
    for (const [id, entry] of this.byProxy) if (entry.origin === 'host' && entry.hostId === hostId) found = id;
    return found;
  }

  /** The host id behind an outstanding proxy id (for a subscription id the server echoes). */
  hostIdOf(proxyId: unknown): JsonRpcId | undefined {
    const entry = typeof proxyId === 'string' ? this.byProxy.get(proxyId) : undefined;
    return entry?.origin === 'host' ? entry.hostId : undefined;
  }

  /** Marks a host request cancelled: its late answer is dropped quietly (MCP cancellation). */
  cancel(hostId: unknown): string | undefined {
    const id = this.proxyIdOf(hostId);
    const entry = id === undefined ? undefined : this.byProxy.get(id);
    if (entry?.origin === 'host') entry.cancelled = true;
    return id;
  }

  /** Removes and returns every outstanding request (when the session ends). */
  drain(): Outstanding[] {
    const all = [...this.byProxy.values()];
    this.byProxy.clear();
    return all;
  }
}

/** A map key that keeps `1` and `"1"` apart. */
export function hostKey(id: JsonRpcId): string {
  return `${typeof id}:${String(id)}`;
}
