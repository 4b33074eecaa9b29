import { NAMESPACE_PATTERN } from './names.js';

/**
 * Namespace patterns, used by the registry's allowlist and publisher tokens and by host trust
 * policies, so that both sides agree on what a pattern covers:
 * - `io.github.acme` covers exactly that namespace;
 * - `com.example.*` covers every namespace below `com.example` (not `com.example` itself);
 * - `*` covers every namespace.
 */
export const NAMESPACE_PATTERN_RULE =
  'a namespace pattern is a namespace ("io.github.acme"), a namespace followed by ".*" for everything below it ("com.example.*"), or "*" for all';

/** Why `pattern` is not a valid namespace pattern, or `undefined` when it is. */
export function namespacePatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return `expected a string; ${NAMESPACE_PATTERN_RULE}`;
  if (pattern === '*') return undefined;
  // Patterns are written in lowercase: names compare case-insensitively against them.
  if (pattern !== pattern.toLowerCase()) return `${JSON.stringify(pattern)} has capitals; write namespace patterns in lowercase (names match them whatever their case); ${NAMESPACE_PATTERN_RULE}`;
  const base = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern;
  // A bare top-level label ("com.*") is allowed as a base; a namespace itself needs two labels.
  if (pattern.endsWith('.*') ? /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(base) : NAMESPACE_PATTERN.test(base)) return undefined;
  return `${JSON.stringify(pattern)} is not a namespace pattern; ${NAMESPACE_PATTERN_RULE}`;
}

/**
 * True when the pattern covers the namespace of `nameOrNamespace` (a server name
 * `<namespace>/<name>` or a bare namespace). Invalid patterns cover nothing.
 * @example matchesNamespace('com.example.*', 'com.example.tools/search') // true
 */
export function matchesNamespace(pattern: string, nameOrNamespace: string): boolean {
  if (namespacePatternProblem(pattern) !== undefined) return false;
  const slash = nameOrNamespace.indexOf('/');
  // Namespaces compare case-insensitively, as DNS names and GitHub accounts do: the pattern
  // `io.github.chromedevtools` covers `io.github.ChromeDevTools/…` (patterns are lowercase).
  const namespace = (slash < 0 ? nameOrNamespace : nameOrNamespace.slice(0, slash)).toLowerCase();
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return namespace.startsWith(pattern.slice(0, -1)) && namespace.length > pattern.length - 1;
  return namespace === pattern;
}

/** Of several patterns covering a namespace, the most specific (longest) one; `undefined` if none. */
export function mostSpecificPattern(patterns: readonly string[], nameOrNamespace: string): string | undefined {
  const rank = (p: string) => (p === '*' ? 0 : p.endsWith('.*') ? p.length : p.length + 1000);
  return patterns.filter((p) => matchesNamespace(p, nameOrNamespace)).sort((a, b) => rank(b) - rank(a))[0];
}
