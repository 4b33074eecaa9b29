/**
 * The server's own identity, pinned: the `_meta` key under which `sigil manifest init` records the
 * `serverInfo` the server gave (the `initialize` result's, or `_meta['io.modelcontextprotocol/serverInfo']`
 * of a 2026-07-28 `server/discover` result). A modern client files its cached results under
 * `name@version`, so a pinned server that named itself as another server could read and fill that
 * server's cache entries; `sigil run` and `verifyLiveTools` hold a live server to the recorded name,
 * version and title when the manifest has them.
 */
export const SERVER_INFO_META_KEY = 'dev.sigil/serverInfo';

/** What is pinned of a server's identity. */
export interface PinnedServerInfo {
  name: string;
  version: string;
  title?: string;
}

const FIELDS: ReadonlySet<string> = new Set(['name', 'version', 'title']);
/** Longest name, version or title recorded (MCP sets none; the manifest's own name is at most 200). */
const MAX_FIELD = 256;

/** Why a recorded identity is not `{ name, version, title? }` of non-empty strings; `undefined` when it is. */
export function serverInfoProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the recorded serverInfo is not an object';
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!FIELDS.has(key)) return `the recorded serverInfo has an unknown field ${JSON.stringify(key)}`;
  for (const key of ['name', 'version'] as const) {
    const field = record[key];
    if (typeof field !== 'string' || field.length === 0 || field.length > MAX_FIELD) return `the recorded serverInfo ${key} is not a string of 1 to ${MAX_FIELD} characters`;
  }
  if (record.title !== undefined && (typeof record.title !== 'string' || record.title.length > MAX_FIELD)) return `the recorded serverInfo title is not a string of at most ${MAX_FIELD} characters`;
  return undefined;
}

/** The identity a manifest pins, or `undefined` when it records none (or a malformed one, which the manifest check refuses). */
export function pinnedServerInfo(manifest: { _meta?: Record<string, unknown> | undefined }): PinnedServerInfo | undefined {
  const value = manifest._meta?.[SERVER_INFO_META_KEY];
  if (value === undefined || serverInfoProblem(value) !== undefined) return undefined;
  const { name, version, title } = value as PinnedServerInfo;
  return title === undefined ? { name, version } : { name, version, title };
}

/**
 * Compares a live `serverInfo` with the pinned one: the same name, version and title (extra
 * fields, such as a description or icons, are not compared; `sigil run` forwards only the pinned
 * fields). `undefined` when they match.
 */
export function serverInfoDrift(pinned: PinnedServerInfo, live: unknown): string | undefined {
  if (typeof live !== 'object' || live === null || Array.isArray(live)) return 'the server gave a serverInfo that is not an object';
  const l = live as Record<string, unknown>;
  if (l.name !== pinned.name) return 'the server named itself differently from the pinned serverInfo';
  if (l.version !== pinned.version) return 'the server gave another version than the pinned serverInfo';
  if ((l.title ?? undefined) !== pinned.title) return 'the server gave another title than the pinned serverInfo';
  return undefined;
}
