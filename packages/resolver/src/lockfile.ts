// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deferSchema, Digest, MAX_STATUS_REFS, nameKey, pointer, scanJson, ServerName, serverNameProblem, Version } from '@sigil/manifest';
import { z } from 'zod';
import { ResolveError } from './errors.js';
import { trustFileCheck } from './store-safety.js';
import { boundedText, hasOnlyKeys, isDigest, isDigestList, isRecordObject, isVersion } from './plain.js';

/** One pinned server: exactly what the host accepted, and nothing it did not verify. */
export const LockEntry = deferSchema(() => z.strictObject({
  version: Version,
  /** Manifest digest: sha256 over the RFC 8785 canonical manifest. */
  digest: Digest,
  /** Tools-set digest, compared against the live server by `sigil run` and `verifyLiveTools`. */
  toolsDigest: Digest,
  /** The verified signer: `SHA256:<base64>` key fingerprint or a certificate identity (SAN URI). */
  signer: z.string().min(1).max(512),
  /** Digests of the approval bundles that were counted, sorted. */
  approvals: z.array(Digest).max(64),
}));
export type LockEntry = z.infer<typeof LockEntry>;

export const Lockfile = deferSchema(() => z.strictObject({
  lockfileVersion: z.literal(1),
  servers: z.record(ServerName, LockEntry),
}));
export type Lockfile = z.infer<typeof Lockfile>;

/**
 * @internal The keys the plain test allows, written out so that a start builds no schema for it
 * (see `deferSchema`); plain-keys.test.ts checks them against the schemas.
 */
export const PLAIN_LOCKFILE = {
  keys: new Set(['lockfileVersion', 'servers']) as ReadonlySet<string>,
  entryKeys: new Set(['version', 'digest', 'toolsDigest', 'signer', 'approvals']) as ReadonlySet<string>,
};
const LOCKFILE_KEYS = PLAIN_LOCKFILE.keys;
const LOCK_ENTRY_KEYS = PLAIN_LOCKFILE.entryKeys;

/**
 * True only when Lockfile accepts `value` and would give it back as it is: every name by the
 * rule ServerName applies, every entry as LockEntry checks it, no key outside the strict shapes.
 * A host reads its whole lock at each start, and zod's parse of it cost about half a million
 * instructions per locked server; anything this test is unsure of goes through zod, which
 * decides and words the refusal.
 * @internal exported for its test
 */
export function plainLockfile(value: unknown): value is Lockfile {
  if (!hasOnlyKeys(value, LOCKFILE_KEYS) || value.lockfileVersion !== 1 || !isRecordObject(value.servers)) return false;
  const servers = value.servers;
  for (const name of Object.keys(servers)) {
    if (serverNameProblem(name) !== undefined) return false;
    const entry = servers[name];
    if (!hasOnlyKeys(entry, LOCK_ENTRY_KEYS)) return false;
    if (!isVersion(entry.version) || !isDigest(entry.digest) || !isDigest(entry.toolsDigest) || !boundedText(entry.signer, 1, 512) || !isDigestList(entry.approvals, 64)) return false;
  }
  return true;
}

/**
 * How the bounded reads open a file: non-blocking, so a FIFO (or a device) planted where a file
 * is expected opens at once instead of waiting for ever for a writer, and is then refused as not a
 * regular file. No effect on regular files.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Refuses anything but a regular file (a FIFO, a device such as /dev/zero, a directory). */
function regularFile(path: string, stat: { isFile(): boolean }): void {
  if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
}

/**
 * A check of the file actually opened (its fstat, on the descriptor then read), e.g. the host
 * store's mode and owner check; it throws to refuse the file.
 */
export type StatCheck = (path: string, stat: Stats) => void;

const LOCKFILE_CHECK = trustFileCheck('lockfile');

/** Largest lockfile read. */
export const MAX_LOCKFILE_BYTES = 4 * 1024 * 1024;

/**
 * The lock entry of a name, only when the lockfile holds that name itself: `servers` is a plain
 * object, and a name such as `constructor` or `__proto__` would otherwise find what every object
 * inherits, and be taken for locked.
 */
export function lockedEntry(lock: Lockfile, name: string): LockEntry | undefined {
  return Object.hasOwn(lock.servers, name) ? lock.servers[name] : undefined;
}

export function emptyLockfile(): Lockfile {
  return { lockfileVersion: 1, servers: {} };
}

/**
 * Reads and validates a lockfile. A missing file is an empty lock when `allowMissing`;
 * anything unreadable or invalid is refused with `LOCKFILE_INVALID`.
 */
export async function readLockfile(path: string, options: { allowMissing?: boolean } = {}): Promise<Lockfile> {
  let text: string;
  try {
    text = readBoundedTextSync(path, MAX_LOCKFILE_BYTES, LOCKFILE_CHECK);
  } catch (e) {
    if (e instanceof ResolveError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && options.allowMissing) return emptyLockfile();
    throw ResolveError.of('', 'LOCKFILE_INVALID', `cannot read the lockfile ${path}: ${(e as Error).message}`, undefined, e);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw ResolveError.of('', 'LOCKFILE_INVALID', `the lockfile ${path} is not valid JSON`, undefined, e);
  }
  const twice = jsonTextProblem(text, value);
  if (twice) throw ResolveError.of('', 'LOCKFILE_INVALID', `the lockfile ${path} ${twice}`);
  if (plainLockfile(value)) return checkedLock(path, value);
  // Once per start: zod's compiled fast path would cost more than it saves (see policy.ts).
  const parsed = Lockfile.safeParse(value, { jitless: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw ResolveError.of('', 'LOCKFILE_INVALID', `the lockfile ${path} is invalid at /${issue.path.join('/')}: ${issue.message}`, parsed.error.issues);
  }
  return checkedLock(path, parsed.data);
}

/**
 * The lockfile's rules beyond its schema, held wherever a lockfile is read or written (online,
 * offline, `lock`), each refused with `LOCKFILE_INVALID`:
 * - at most 256 servers (`MAX_STATUS_REFS`), the most one signed status covers: the status stored
 *   beside the lock must cover all of it, or no offline start of it could be judged;
 * - case does not distinguish server names (`nameKey`): a lock with two spellings of one name would
 *   pin it twice, and a pin of the other spelling would not see the first (a rollback unnoticed);
 * - an entry's approvals are distinct: each is the digest of one counted approval bundle, and every
 *   resolution holds them to the approvals it counts (`judgeVersion`).
 */
function checkedLock(path: string, lock: Lockfile): Lockfile {
  const names = Object.keys(lock.servers);
  if (names.length > MAX_STATUS_REFS) throw ResolveError.of('', 'LOCKFILE_INVALID', `the lockfile ${path} pins ${names.length} servers; one signed status covers at most ${MAX_STATUS_REFS}: split the host's servers across lockfiles`);
  const seen = new Map<string, string>();
  for (const name of names) {
    const other = seen.get(nameKey(name));
    if (other !== undefined) throw ResolveError.of(name, 'LOCKFILE_INVALID', `the lockfile ${path} pins ${other} and ${name}, one name spelt twice (case does not distinguish server names)`);
    seen.set(nameKey(name), name);
    const approvals = lock.servers[name]!.approvals;
    if (approvals.length > 1 && new Set(approvals).size !== approvals.length) throw ResolveError.of(name, 'LOCKFILE_INVALID', `the lockfile ${path} lists an approval of ${name} twice; each is the digest of one counted approval`);
  }
  return lock;
}

/**
 * Writes a lockfile atomically (temporary file in the same directory, then rename) with keys in
 * a stable order, so diffs of it are reviewable and a crash never leaves half a lock.
 */
export async function writeLockfile(path: string, lock: Lockfile): Promise<void> {
  // Never written as readLockfile would refuse it.
  await writeJsonAtomic(path, checkedLock(path, Lockfile.parse(lock)));
}

/** Stable, indented JSON: object keys sorted at every level. */
export function stableStringify(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Writes JSON atomically with stable key order. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  await writeTextAtomic(path, stableStringify(value), mode);
}

/** Writes exact text atomically (temporary file in the same directory, then rename). */
export async function writeTextAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await fsp.writeFile(tmp, text, { mode, flag: 'wx' });
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads a UTF-8 regular file of at most `limit` bytes; larger files are refused, not read whole,
 * and so is anything but a regular file (a FIFO would block the open for ever). Sized
 * from fstat so a small file costs a small buffer, and read to EOF so a file that grows while
 * being read is still bounded. `check` sees the fstat of the descriptor that is then read (the
 * host store's mode and owner check), so a file swapped in between a check and the read is not read.
 */
export async function readBoundedText(path: string, limit: number, check?: StatCheck): Promise<string> {
  const handle = await fsp.open(path, READ_FLAGS);
  try {
    let buffer = firstBuffer(path, await handle.stat(), limit, check);
    const claimed = buffer.length - 1;
    let size = 0;
    for (;;) {
      buffer = roomIn(path, buffer, size, limit);
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size === claimed) break; // the whole file as fstat gave it (firstBuffer)
    }
    return decoded(path, buffer, size, limit);
  } finally {
    await handle.close();
  }
}

/** Deepest nesting accepted in a trust file the host reads (the policy, the lockfile). */
const MAX_TRUST_FILE_DEPTH = 64;

/**
 * Why a trust file's JSON text (already parsed) may read two ways, or undefined: a key given twice
 * in one object (JSON.parse keeps the last, a reviewer reading the file sees the first, so a pin or
 * a threshold could hide under another), nesting past the bound, or a `"__proto__"` key anywhere
 * (JSON.parse keeps it as a key of its own, but an object built from the value, as zod's record
 * builds the lock's `servers`, drops it: a pin a reviewer sees and the host never reads; neither
 * file's schema has a place for such a key). The same scan manifests get (`scanJson`,
 * `JSON_DUPLICATE_KEY`). Phrased to follow the file's name.
 */
export function jsonTextProblem(text: string, parsed?: unknown): string | undefined {
  // JSON.parse never gives undefined: without the parsed value, the scan decides, and the text is parsed for the last check.
  if (parsed !== undefined && readsOneWay(text, parsed)) return undefined;
  const finding = scanJson(text, MAX_TRUST_FILE_DEPTH)[0];
  if (finding) return `is refused at ${finding.path === '' ? '/' : finding.path}: ${finding.message}`;
  const at = protoKeyAt(parsed === undefined ? parsedOrUndefined(text) : parsed, []);
  return at && `is refused at ${at}: the key "__proto__" is not accepted (JSON.parse keeps it as a key, but the value checked from it would leave it out, so what a reader of the file sees would not be what is read)`;
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The JSON pointer of the first own `__proto__` key in a parsed value (nesting within the bound: the scan ran first), or undefined. */
function protoKeyAt(value: unknown, at: Array<string | number>): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyAt(value[i], [...at, i]);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return pointer([...at, key]);
    const found = protoKeyAt((value as Record<string, unknown>)[key], [...at, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether `parsed`, what JSON.parse made of `text` (valid JSON), is all of it: no key given twice,
 * no `__proto__` key and nesting within the bound. Exact: JSON.parse keeps one member per key and drops nothing else,
 * so the value holds as many strings (keys and string values) as the text has string tokens, unless
 * a key was given twice, whose first member (its key at least) is then gone; and the value's
 * nesting is the text's. The string tokens are counted by their quotes: outside strings valid JSON
 * has none, and inside them a quote is always escaped (`\"`), so with every two-character escape
 * taken out, left to right as a parser reads them, each string has exactly two. Native string
 * searches and one walk of the value, where the character scan ({@link scanJson}) ran once per
 * character: a warm start reads the lockfile (100 servers: 34 kB) and the policy. When false (a
 * duplicate, deeper than the bound, or a `__proto__` key), {@link jsonTextProblem} words it.
 * @internal exported for its test
 */
export function readsOneWay(text: string, parsed: unknown): boolean {
  const unescaped = text.includes('\\') ? text.replace(/\\[^]/g, '') : text;
  let quotes = 0;
  for (let at = unescaped.indexOf('"'); at >= 0; at = unescaped.indexOf('"', at + 1)) quotes++;
  const strings = stringsWithin(parsed, MAX_TRUST_FILE_DEPTH);
  return strings >= 0 && quotes === 2 * strings;
}

/** The strings (object keys and string values) in a parsed JSON value, or -1 when it nests deeper than `maxDepth` objects and arrays or holds a `__proto__` key. */
function stringsWithin(root: unknown, maxDepth: number): number {
  let strings = 0;
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (typeof value === 'string') strings++;
    else if (typeof value === 'object' && value !== null) {
      if (depth >= maxDepth) return -1;
      if (Array.isArray(value)) {
        for (const item of value as unknown[]) {
          values.push(item);
          depths.push(depth + 1);
        }
      } else {
        for (const key of Object.keys(value)) {
          // Not a value read one way: see jsonTextProblem.
          if (key === '__proto__') return -1;
          strings++;
          values.push((value as Record<string, unknown>)[key]);
          depths.push(depth + 1);
        }
      }
    }
  }
  return strings;
}

/**
 * {@link readBoundedText} with synchronous calls, for the small local files a start reads one
 * after the other (the store's records, the lockfile, the policy and the files it names, the
 * stored status and kept results): through the thread pool each costs five round trips (open,
 * fstat, read, read at EOF, close; the read at EOF is now spared when the first read returns the
 * size fstat gave), about 0.13 ms of CPU per file against 0.02 ms here, measured
 * on 100 stored records, and on a busy machine each round trip waits for a thread to be
 * scheduled. It holds the event loop for the read, so it is for local files of bounded size only.
 */
export function readBoundedTextSync(path: string, limit: number, check?: StatCheck): string {
  const fd = openSync(path, READ_FLAGS);
  try {
    let buffer = firstBuffer(path, fstatSync(fd), limit, check);
    const claimed = buffer.length - 1;
    let size = 0;
    for (;;) {
      buffer = roomIn(path, buffer, size, limit);
      const bytesRead = readSync(fd, buffer, size, buffer.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size === claimed) break; // the whole file as fstat gave it (firstBuffer)
    }
    return decoded(path, buffer, size, limit);
  } finally {
    closeSync(fd);
  }
}

// The steps both bounded readers share, around their one difference (how they read).
const tooLarge = (path: string, limit: number): Error => Object.assign(new Error(`${path} is larger than ${limit} bytes`), { code: 'EFBIG' });

/**
 * After the checks of the open file (a regular file, `check`, its size), a buffer one byte larger
 * than it claims. Reading exactly the claimed size into it leaves that byte of room, so the read
 * stopped at the end: the readers stop there, sparing the read that would return 0 (one system
 * call per file; a start reads one record per locked server). A file that grew after the fstat
 * fills the byte and is read on to its end, within the limit; a short read before the end (a
 * network file system) leaves fewer bytes than claimed and reads on.
 */
function firstBuffer(path: string, stat: Stats, limit: number, check: StatCheck | undefined): Buffer {
  regularFile(path, stat);
  check?.(path, stat);
  if (stat.size > limit) throw tooLarge(path, limit);
  return Buffer.allocUnsafe(Math.min(limit, stat.size) + 1);
}

/** `buffer`, or a larger copy when it is full (a file that grows while read), never past `limit` + 1 bytes. */
function roomIn(path: string, buffer: Buffer, size: number, limit: number): Buffer {
  if (size < buffer.length) return buffer;
  if (buffer.length > limit) throw tooLarge(path, limit);
  const grown = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
  buffer.copy(grown, 0, 0, size);
  return grown;
}

/**
 * One strict decoder for every read: a whole-input `decode` keeps no state between calls, and
 * making a TextDecoder cost about as much as decoding a 5 kB record with it (a host start reads
 * one record per locked server: 100 servers 6 ms -> 3 ms of reads).
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The `size` bytes read, as strict UTF-8, once known to be within `limit`. */
function decoded(path: string, buffer: Buffer, size: number, limit: number): string {
  if (size > limit) throw tooLarge(path, limit);
  return strictUtf8.decode(buffer.subarray(0, size));
}
