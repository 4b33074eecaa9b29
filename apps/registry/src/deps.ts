import type { Db } from '@sigil/db';
import type { Finding, Manifest } from '@sigil/manifest';
import type { Logger } from 'pino';
import type { Settings } from './config.js';
import type { RegistryKeys } from './keys.js';
import type { Metrics } from './metrics.js';

/** One lint finding as the registry stores and shows it: the one findings shape of @sigil/manifest. */
export type LintFinding = Finding;

/**
 * The descriptor lint as the registry uses it at publish: findings for the manifest, look-alike
 * names against existing servers (with their owners), tool shadowing against approved servers.
 */
export interface Linter {
  lintManifest(manifest: Manifest, options: { errorRules: string[] }): LintFinding[];
  checkName(candidate: { name: string; owner: string }, existing: ReadonlyArray<{ name: string; owner: string }>): LintFinding[];
  checkShadowing(manifest: Manifest, others: ReadonlyArray<{ name: string; tools: readonly string[] }>): LintFinding[];
}

/** Everything the app needs, made in main.ts (or a test) and passed in: no I/O at import time. */
export interface Deps {
  db: Db;
  keys: RegistryKeys;
  settings: Settings;
  logger: Logger;
  metrics: Metrics;
  /** Required: a registry without the lint would publish what it should refuse. */
  linter: Linter;
  now?: () => Date;
}

/** Who is calling, from the verified token (never from the body). */
export interface Principal {
  name: string;
  role: Role;
  namespaces: string[];
  tokenId: string | null;
}

export type Role = 'admin' | 'security' | 'publisher' | 'reader';

export const ANONYMOUS: Principal = { name: 'anonymous', role: 'reader', namespaces: [], tokenId: null };

let isoMs = Number.NaN;
let isoText = '';

/**
 * The time now as ISO 8601 text (the clock `deps.now` when a test gives one). The text of the
 * current millisecond is kept: every authenticated request compares its token's expiry with it,
 * and formatting a Date each time cost more than the comparison it serves.
 */
export function nowIso(deps: Deps): string {
  if (deps.now) return deps.now().toISOString();
  const ms = Date.now();
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}
