import { diffTools, pinnedServerInfo, serverInfoDrift, toolDigest, toolsSetDigest, type Manifest, type Tool, type ToolsDiff } from '@sigil/manifest';
import { ResolveError } from './errors.js';
import { collectToolPages } from './tools-paging.js';

/**
 * The part of an MCP client the live check needs: `Client` of @modelcontextprotocol/sdk 1.x, or of
 * @modelcontextprotocol/client 2.x, which in `versionNegotiation: 'auto'` mode probes with
 * `server/discover` (MCP 2026-07-28) and reads the instructions from its result. Typed
 * structurally, so the resolver does not load either SDK.
 */
export interface ToolListingClient {
  listTools(params?: { cursor?: string }, options?: { timeout?: number; signal?: AbortSignal; cacheMode?: 'bypass' }): Promise<{ tools: Array<Record<string, unknown>>; nextCursor?: string | undefined }>;
  getInstructions(): string | undefined;
  /** 2.x clients: `modern` when the server answered `server/discover`. */
  getProtocolEra?(): 'legacy' | 'modern' | undefined;
  getNegotiatedProtocolVersion?(): string | undefined;
  /** The `serverInfo` the server gave (both SDKs); checked when the manifest pins one. */
  getServerVersion?(): { name: string; version: string; title?: string | undefined } | undefined;
}

export interface LiveToolsOptions {
  /** Per-request timeout in milliseconds (default 10 s). */
  timeoutMs?: number;
  /**
   * Longest the whole listing may take, every page together, in milliseconds (default 30 s): a
   * server answering each page just inside the per-request timeout, with a new cursor each time,
   * would otherwise hold the host for 64 of them.
   */
  deadlineMs?: number;
  /**
   * Let the server leave pinned tools out (the policy's `liveTools: "pinned-subset"`): each tool it
   * shows must still be exactly its pinned form, once. Default: the live set must be the pin.
   */
  allowMissing?: boolean;
}

/** What the live server showed, normalised to the manifest's form. */
export interface LiveTools {
  instructions: string | undefined;
  tools: Tool[];
  /** The protocol era and revision the client negotiated, when it says (2.x clients). */
  protocol?: { era: 'legacy' | 'modern'; version: string | undefined };
  /** The identity the server gave, when the client says. */
  serverInfo?: { name: string; version: string; title?: string | undefined } | undefined;
  /** From {@link verifyLiveTools} with `allowMissing`: the pinned tools this server left out. */
  missing?: string[];
}

/**
 * Reads every page of `tools/list`, bounded in pages, count and time, normalised for comparison.
 * Whatever goes wrong on the way (a timeout, the deadline, a closed connection, a page the client
 * could not parse) is a `ResolveError` with `TOOL_DRIFT`: tools that cannot be listed cannot be
 * shown to match the pin.
 */
export async function listLiveTools(client: ToolListingClient, options: LiveToolsOptions = {}): Promise<LiveTools> {
  const timeout = options.timeoutMs ?? 10_000;
  const deadline = options.deadlineMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), deadline);
  let tools: Tool[];
  try {
    // `bypass`: a 2.x client otherwise answers from its own cache while the server's `ttlMs` lasts,
    // and the check would compare the pin with what the server said then, not what it says now (1.x
    // clients have no cache and ignore the option).
    ({ tools } = await collectToolPages((cursor) => client.listTools(cursor === undefined ? {} : { cursor }, { timeout, signal: controller.signal, cacheMode: 'bypass' })));
  } catch (cause) {
    if (cause instanceof ResolveError) throw cause;
    const why = controller.signal.aborted ? `the listing took longer than ${deadline} ms` : String((cause as Error)?.message ?? cause).slice(0, 200);
    throw ResolveError.of('', 'TOOL_DRIFT', `the live tools could not be listed: ${why}`, undefined, cause);
  } finally {
    clearTimeout(timer);
  }
  const era = client.getProtocolEra?.();
  const serverInfo = client.getServerVersion?.();
  return { instructions: client.getInstructions(), tools, ...(era ? { protocol: { era, version: client.getNegotiatedProtocolVersion?.() } } : {}), ...(serverInfo ? { serverInfo } : {}) };
}

/**
 * Compares live tools and instructions with the pinned manifest; `undefined` when they match:
 * the pinned instructions and exactly the pinned tools, or with `allowMissing` any of the pinned
 * tools, each exactly and once (see {@link LiveToolsOptions.allowMissing}).
 */
export function compareLiveTools(manifest: Manifest, live: LiveTools, allowMissing = false): { diff: ToolsDiff; instructions?: { pinned: string | undefined; live: string | undefined } } | undefined {
  const exact = toolsSetDigest(live.tools) === toolsSetDigest(manifest.tools) && live.tools.length === manifest.tools.length;
  const sameTools = exact || (allowMissing && isPinnedSubset(manifest, live.tools));
  const sameInstructions = (live.instructions ?? undefined) === (manifest.instructions ?? undefined);
  if (sameTools && sameInstructions) return undefined;
  const diff = diffTools(manifest.tools, live.tools);
  return {
    // Tools left out under allowMissing are not what drifted; the diff names what did.
    diff: sameTools ? { ...diff, removed: [] } : diff,
    ...(sameInstructions ? {} : { instructions: { pinned: manifest.instructions, live: live.instructions } }),
  };
}

/** Whether every live tool is a pinned tool, exactly (by canonical digest), and none is listed twice. */
function isPinnedSubset(manifest: Manifest, tools: readonly Tool[]): boolean {
  if (tools.length > manifest.tools.length) return false;
  const pinned = new Map(manifest.tools.map((t) => [t.name, toolDigest(t)]));
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name) || pinned.get(tool.name) !== toolDigest(tool)) return false;
    seen.add(tool.name);
  }
  return true;
}

/** The pinned tools a live listing left out (sorted by name); empty for the whole set. */
export function missingTools(manifest: Manifest, tools: readonly Tool[]): string[] {
  const live = new Set(tools.map((t) => t.name));
  return manifest.tools.map((t) => t.name).filter((n) => !live.has(n)).sort();
}

/**
 * Checks a live MCP server against its pinned manifest: the instructions (from `initialize`, or
 * from `server/discover` with a 2026-07-28 client) and every page of `tools/list`, compared by
 * canonical digests. Any added, removed, renamed or changed tool, or changed instructions, is
 * refused with `TOOL_DRIFT` and the diff in `details`. Returns what it saw, protocol included.
 * @example
 * const client = new Client({ name: 'host', version: '1.0.0' });
 * await client.connect(transport);
 * await verifyLiveTools(client, resolved.manifest); // throws ResolveError TOOL_DRIFT on a rug pull
 */
export async function verifyLiveTools(client: ToolListingClient, manifest: Manifest, options: LiveToolsOptions = {}): Promise<LiveTools> {
  const live = await listLiveTools(client, options);
  // The identity first: a server naming itself as another is refused whatever its tools.
  const pinned = pinnedServerInfo(manifest);
  if (pinned) {
    // A client that cannot say what the server gave is refused too: the pin cannot be checked. A
    // server that gave none is refused unless it opened with `server/discover` (2026-07-28), where
    // the identity is an optional claim, as `sigil run` does (its IdentityCheck).
    const problem = !client.getServerVersion
      ? 'the client cannot tell which serverInfo the server gave'
      : live.serverInfo === undefined
        ? live.protocol?.era === 'modern'
          ? undefined
          : 'the server gave no serverInfo, and the manifest pins one'
        : serverInfoDrift(pinned, live.serverInfo);
    if (problem) throw ResolveError.of(manifest.name, 'TOOL_DRIFT', problem, { serverInfo: { pinned, live: live.serverInfo ?? null } });
  }
  const drift = compareLiveTools(manifest, live, options.allowMissing === true);
  if (drift) throw ResolveError.of(manifest.name, 'TOOL_DRIFT', driftSentence(drift.diff, drift.instructions !== undefined), drift);
  return options.allowMissing ? { ...live, missing: missingTools(manifest, live.tools) } : live;
}

/** One sentence naming what drifted. */
export function driftSentence(diff: ToolsDiff, instructionsChanged: boolean): string {
  const parts: string[] = [];
  if (diff.added.length) parts.push(`added ${diff.added.join(', ')}`);
  if (diff.removed.length) parts.push(`removed ${diff.removed.join(', ')}`);
  if (diff.renamed.length) parts.push(`renamed ${diff.renamed.map((r) => `${r.from} -> ${r.to}`).join(', ')}`);
  if (diff.changed.length) parts.push(`changed ${diff.changed.map((c) => `${c.name} (${c.fields.join(', ')})`).join(', ')}`);
  if (instructionsChanged) parts.push('changed the instructions');
  return `the live server's tools differ from the pinned manifest: ${parts.join('; ') || 'the tool set digest differs'}`;
}
