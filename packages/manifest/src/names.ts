// The two functions used, not the whole package (ranges, classes, every helper): the CLI bundles
// this, and every host start evaluated all of semver for valid() and compare().
import compare from 'semver/functions/compare.js';
import valid from 'semver/functions/valid.js';
import { ManifestError } from './errors.js';

/**
 * One DNS label: letters, digits and inner hyphens, at most 63 characters. Mixed case is accepted
 * as the official server.json schema does (`io.github.ChromeDevTools`); names are compared
 * case-insensitively (`nameKey`), so case never makes two names different.
 */
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
/** Reverse-DNS namespace: at least two labels (`io.github.acme`, `com.example.tools`). */
export const NAMESPACE_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);
/** The server part after the slash: the official registry's pattern, starting with a letter or digit. */
export const SERVER_PART_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
/** Longest whole name, as in the official registry's server.json schema. */
export const MAX_NAME_LENGTH = 200;
/** Longest version string (semver's own bound is 256). */
export const MAX_VERSION_LENGTH = 255;

export const NAME_RULE =
  'a server name is "<namespace>/<name>": the namespace is reverse-DNS ASCII ' +
  '(labels of letters, digits and inner "-", joined by ".", at least two, e.g. "io.github.acme"), ' +
  'the name matches [a-zA-Z0-9][a-zA-Z0-9._-]*, and the whole is 3 to 200 characters; case does not distinguish names';

export const VERSION_RULE =
  'a version is one exact SemVer 2.0.0 version such as "1.2.0" or "2.0.0-rc.1": no range, no "latest", no leading "v", no build metadata';

/** Why `name` is not a valid server name, or `undefined` when it is. */
export function serverNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `expected a string; ${NAME_RULE}`;
  if (name.length > MAX_NAME_LENGTH) return `the name is ${name.length} characters long; ${NAME_RULE}`;
  const slash = name.indexOf('/');
  if (slash < 0 || slash !== name.lastIndexOf('/')) return `the name must contain exactly one "/"; ${NAME_RULE}`;
  const namespace = name.slice(0, slash);
  const server = name.slice(slash + 1);
  if (!NAMESPACE_PATTERN.test(namespace)) return `the namespace ${JSON.stringify(namespace)} is not allowed; ${NAME_RULE}`;
  if (!SERVER_PART_PATTERN.test(server)) return `the server name ${JSON.stringify(server)} is not allowed; ${NAME_RULE}`;
  return undefined;
}

/**
 * The key names are unique by: two names that differ only in case are the same name.
 * @example nameKey('io.github.ChromeDevTools/chrome-devtools-mcp') // 'io.github.chromedevtools/chrome-devtools-mcp'
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * A plain `MAJOR.MINOR.PATCH` that semver.valid() gives back unchanged: no leading zero, each
 * number at most 15 digits (below Number.MAX_SAFE_INTEGER, semver's bound). Most versions are
 * this, checked on every read of one; anything else goes through semver.
 */
const PLAIN_VERSION = /^(?:0|[1-9]\d{0,14})\.(?:0|[1-9]\d{0,14})\.(?:0|[1-9]\d{0,14})$/;

/** Why `version` is not an exact SemVer version, or `undefined` when it is. */
export function versionProblem(version: unknown): string | undefined {
  if (typeof version !== 'string') return `expected a string; ${VERSION_RULE}`;
  if (version.length > MAX_VERSION_LENGTH) return `the version is ${version.length} characters long; ${VERSION_RULE}`;
  if (PLAIN_VERSION.test(version)) return undefined;
  if (version.includes('+')) {
    return `${JSON.stringify(version)} carries build metadata ("+…"), which SemVer ignores when ordering versions, so two such versions could not be told apart for rollback checks; ${VERSION_RULE}`;
  }
  // semver.valid() normalises ("v1.2.3" -> "1.2.3", "=1.2.3" -> "1.2.3"); only an exact round trip is accepted.
  if (valid(version) !== version) return `${JSON.stringify(version)} is not allowed; ${VERSION_RULE}`;
  return undefined;
}

export function isServerName(name: unknown): name is string {
  return serverNameProblem(name) === undefined;
}

export function isVersion(version: unknown): version is string {
  return versionProblem(version) === undefined;
}

/** Splits a valid server name into namespace and server part. */
export function splitServerName(name: string): { namespace: string; server: string } {
  const slash = name.indexOf('/');
  return { namespace: name.slice(0, slash), server: name.slice(slash + 1) };
}

export interface Reference {
  name: string;
  version: string;
}

/**
 * Parses `<name>@<version>`, refusing anything that is not an exact reference.
 * @example parseReference('io.github.acme/weather@1.2.0') // { name: 'io.github.acme/weather', version: '1.2.0' }
 * @throws ManifestError with `NAME_INVALID` or `VERSION_INVALID`
 */
export function parseReference(ref: string): Reference {
  const at = ref.lastIndexOf('@');
  if (at <= 0) {
    throw new ManifestError('VERSION_INVALID', `${JSON.stringify(ref)} is not a reference "<name>@<version>"`, [
      { path: '', rule: 'VERSION_INVALID', severity: 'error', message: `a reference is "<name>@<version>"; ${VERSION_RULE}` },
    ]);
  }
  const name = ref.slice(0, at);
  const version = ref.slice(at + 1);
  const nameProblem = serverNameProblem(name);
  if (nameProblem) {
    throw new ManifestError('NAME_INVALID', nameProblem, [{ path: '', rule: 'NAME_INVALID', severity: 'error', message: nameProblem }]);
  }
  const problem = versionProblem(version);
  if (problem) {
    throw new ManifestError('VERSION_INVALID', problem, [{ path: '', rule: 'VERSION_INVALID', severity: 'error', message: problem }]);
  }
  return { name, version };
}

/** Formats a reference as `<name>@<version>`. */
export function formatReference(ref: Reference): string {
  return `${ref.name}@${ref.version}`;
}

/**
 * SemVer precedence of two exact versions: negative, zero or positive. Two plain
 * MAJOR.MINOR.PATCH versions (PLAIN_VERSION: at most 15 digits a number, exact as doubles) are
 * compared as numbers, without semver's parse, which built two SemVer objects per comparison (the
 * v0.1 listing and POST /v1/status sort every server's approved versions); semver's compare
 * decides anything else, and its sign is the same (names.test.ts compares both).
 */
export function compareVersions(a: string, b: string): number {
  if (PLAIN_VERSION.test(a) && PLAIN_VERSION.test(b)) {
    const x = a.split('.');
    const y = b.split('.');
    for (let i = 0; i < 3; i++) {
      const d = Number(x[i]) - Number(y[i]);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }
  return compare(a, b);
}

/**
 * The three numbers of a plain version (what PLAIN_VERSION matches), read in one pass over its
 * characters; undefined for anything else (a pre-release, build metadata, not a string).
 */
function plainParts(version: unknown): [number, number, number] | undefined {
  if (typeof version !== 'string') return undefined;
  const parts: [number, number, number] = [0, 0, 0];
  let i = 0;
  for (let p = 0; p < 3; p++) {
    if (p > 0 && version.charCodeAt(i++) !== 46) return undefined; // '.'
    const start = i;
    let n = 0;
    for (let c = version.charCodeAt(i); c >= 48 && c <= 57; c = version.charCodeAt(++i)) n = n * 10 + (c - 48);
    // 1 to 15 digits (exact as a double), no leading zero.
    if (i === start || i - start > 15 || (i - start > 1 && version.charCodeAt(start) === 48)) return undefined;
    parts[p] = n;
  }
  return i === version.length ? parts : undefined;
}

/** An item with its version's plain parts read once, for comparisons that do not read them again. */
interface Keyed<T> {
  item: T;
  parts: [number, number, number] | undefined;
}

/** {@link compareVersions} of two keyed items: numbers compared when both are plain, semver's compare otherwise (as compareVersions does). */
function compareKeyed<T extends { version: string }>(a: Keyed<T>, b: Keyed<T>): number {
  if (a.parts !== undefined && b.parts !== undefined) {
    for (let i = 0; i < 3; i++) if (a.parts[i] !== b.parts[i]) return a.parts[i]! < b.parts[i]! ? -1 : 1;
    return 0;
  }
  return compareVersions(a.item.version, b.item.version);
}

/**
 * The item with the newest version (SemVer precedence), the first of them in `items`' order when
 * several have the same precedence: the first item of {@link sortNewestFirst}, with one pass and
 * each version read once (not a sort with two reads per comparison).
 * @example newestVersion([{ version: '1.9.0' }, { version: '1.10.0' }]) // { version: '1.10.0' }
 */
export function newestVersion<T extends { version: string }>(items: readonly T[]): T | undefined {
  if (items.length === 0) return undefined;
  let best: Keyed<T> = { item: items[0]!, parts: plainParts(items[0]!.version) };
  for (let i = 1; i < items.length; i++) {
    const next = { item: items[i]!, parts: plainParts(items[i]!.version) };
    if (compareKeyed(next, best) > 0) best = next;
  }
  return best.item;
}

/**
 * `items` sorted newest version first, in place (a stable sort: items of the same precedence keep
 * their order), as `items.sort((a, b) => compareVersions(b.version, a.version))` sorts them, with
 * each version read once.
 * @example sortNewestFirst([{ version: '1.9.0' }, { version: '1.10.0' }]) // [{ version: '1.10.0' }, { version: '1.9.0' }]
 */
export function sortNewestFirst<T extends { version: string }>(items: T[]): T[] {
  if (items.length < 2) return items;
  const keyed = items.map((item) => ({ item, parts: plainParts(item.version) }));
  keyed.sort((a, b) => compareKeyed(b, a));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.item;
  return items;
}
