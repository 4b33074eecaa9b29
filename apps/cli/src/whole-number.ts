import { UsageError } from './errors.js';

/**
 * An option parser for a whole number from `min` to `max` (as JavaScript reads a number: `1e3` is
 * 1000): anything else (a fraction, an empty value, a number past the bounds) is a usage error
 * naming the flag (exit 2). The bounds keep a value where it means what it says: Node's timers
 * fire at once for a delay of 2^31 ms or more, so `--timeout 9999999999` gave up at once.
 */
export function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
    return n;
  };
}
