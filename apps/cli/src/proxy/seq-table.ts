/** Slots in the ring: far more than the requests a session keeps in flight at once. */
const RING = 1024;
const MASK = RING - 1;

/**
 * What waits under a sequence number that only grows (the proxy ids of ids.ts and
 * server-requests.ts), most of it for less than a round trip: a fixed ring of slots indexed by the
 * number's low bits, and a Map only for an entry still waiting when its slot comes round again (a
 * long call while a thousand others went by), which moves there.
 *
 * A Map alone paid for the churn: each set of a new, larger key and its delete a round trip later
 * leaves a deleted entry behind, and V8 rebuilds the table every few requests. That was about
 * 0.5 µs of every tools/call round trip, most of the id mapping's cost
 * (scripts/bench/guard-firewall.mjs); a slot costs a few nanoseconds.
 */
export class SeqTable<T> {
  /** The number in each slot, 0 for an empty one (numbers start at 1). */
  private readonly seqs = new Float64Array(RING);
  private readonly values: (T | undefined)[] = Array.from({ length: RING }, () => undefined);
  private readonly spill = new Map<number, T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a value under `seq`, which must be greater than every number added before. */
  set(seq: number, value: T): void {
    const slot = seq & MASK;
    const held = this.seqs[slot]!;
    if (held !== 0) this.spill.set(held, this.values[slot]!);
    this.seqs[slot] = seq;
    this.values[slot] = value;
    this.count++;
  }

  get(seq: number): T | undefined {
    const slot = seq & MASK;
    if (this.seqs[slot] === seq) return this.values[slot];
    return this.spill.size === 0 ? undefined : this.spill.get(seq);
  }

  /** Removes what waits under `seq`; whether anything did (never for 0, the mark of an empty slot). */
  delete(seq: number): boolean {
    const slot = seq & MASK;
    if (seq > 0 && this.seqs[slot] === seq) {
      this.seqs[slot] = 0;
      this.values[slot] = undefined;
    } else if (this.spill.size === 0 || !this.spill.delete(seq)) return false;
    this.count--;
    return true;
  }

  /** Every number and its value, in the order they were added. */
  entries(): Array<[number, T]> {
    const out: Array<[number, T]> = [...this.spill];
    for (let slot = 0; slot < RING; slot++) if (this.seqs[slot] !== 0) out.push([this.seqs[slot]!, this.values[slot]!]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  clear(): void {
    this.seqs.fill(0);
    this.values.fill(undefined);
    this.spill.clear();
    this.count = 0;
  }
}
