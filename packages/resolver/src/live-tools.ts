import { diffTools, toolsSetDigest, type Manifest, type Tool, type ToolsDiff } from '@sigil/manifest';
import { ResolveError } from './errors.js';
import { collectToolPages } from './tools-paging.js';

/**
 * The part of an MCP client (`Client` of @modelcontextprotocol/sdk) the live check needs. Typed
 * structurally, so the resolver does not load the SDK itself.
 */
export interface ToolListingClient {
  listTools(params?: { cursor?: string }, options?: { timeout?: number; signal?: AbortSignal }): Promise<{ tools: Array<Record<string, unknown>>; nextCursor?: string | undefined }>;
  getInstructions(): string | undefined;
}

export interface LiveToolsOptions {
  /** Per-request timeout in milliseconds (default 10 s). */
  timeoutMs?: number;
}

/** What the live server showed, normalised to the manifest's form. */
export interface LiveTools {
  instructions: string | undefined;
  tools: Tool[];
}

/** Reads every page of `tools/list`, bounded in pages and count, normalised for comparison. */
export async function listLiveTools(client: ToolListingClient, options: LiveToolsOptions = {}): Promise<LiveTools> {
  const timeout = options.timeoutMs ?? 10_000;
  const { tools } = await collectToolPages((cursor) => client.listTools(cursor === undefined ? {} : { cursor }, { timeout }));
  return { instructions: client.getInstructions(), tools };
}

/** Compares live tools and instructions with the pinned manifest; `undefined` when they match. */
export function compareLiveTools(manifest: Manifest, live: LiveTools): { diff: ToolsDiff; instructions?: { pinned: string | undefined; live: string | undefined } } | undefined {
  const sameTools = toolsSetDigest(live.tools) === toolsSetDigest(manifest.tools) && live.tools.length === manifest.tools.length;
  const sameInstructions = (live.instructions ?? undefined) === (manifest.instructions ?? undefined);
  if (sameTools && sameInstructions) return undefined;
  return {
    diff: diffTools(manifest.tools, live.tools),
    ...(sameInstructions ? {} : { instructions: { pinned: manifest.instructions, live: live.instructions } }),
  };
}

/**
 * Checks a live MCP server against its pinned manifest: the `initialize` instructions and every
 * page of `tools/list`, compared by canonical digests. Any added, removed, renamed or changed
 * tool, or changed instructions, is refused with `TOOL_DRIFT` and the diff in `details`.
 * @example
 * const client = new Client({ name: 'host', version: '1.0.0' });
 * await client.connect(transport);
 * await verifyLiveTools(client, resolved.manifest); // throws ResolveError TOOL_DRIFT on a rug pull
 */
export async function verifyLiveTools(client: ToolListingClient, manifest: Manifest, options: LiveToolsOptions = {}): Promise<void> {
  const live = await listLiveTools(client, options);
  const drift = compareLiveTools(manifest, live);
  if (drift) throw ResolveError.of(manifest.name, 'TOOL_DRIFT', driftSentence(drift.diff, drift.instructions !== undefined), drift);
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
