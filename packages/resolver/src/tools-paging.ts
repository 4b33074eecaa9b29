import { LIMITS, normalizeTool, type Tool } from '@sigil/manifest';
import { ResolveError } from './errors.js';

/** Most `tools/list` pages read before refusing: a server whose cursor never ends is refused, not waited on. */
export const MAX_TOOL_PAGES = 64;

/** Longest `nextCursor` followed: an opaque token, sent back to the server with every page. */
export const MAX_CURSOR_LENGTH = 4096;

/** One `tools/list` result page as it came off the wire (unchecked). */
export interface ToolsPage {
  tools: unknown;
  nextCursor?: unknown;
}

/** Every tool of a listing, in the manifest's form, and the live fields that form leaves out. */
export interface CollectedTools {
  tools: Tool[];
  /** Tool fields outside the manifest format that were left out, as `tool.field`. */
  dropped: string[];
}

/**
 * Follows `nextCursor` through every page of `tools/list`, bounded in pages and in tools, and
 * normalises each tool for comparison with a pin; a cursor that comes back (a loop) or is longer
 * than {@link MAX_CURSOR_LENGTH} is refused at once. The one paging loop behind `sigil manifest
 * init`, {@link verifyLiveTools} and the `sigil run` firewall, so the three cannot disagree on
 * what a listing holds. A page that is not a list of objects, or a cursor that is not a string,
 * is refused with `TOOL_DRIFT`.
 * @example
 * const { tools } = await collectToolPages((cursor) => client.listTools(cursor === undefined ? {} : { cursor }));
 */
export async function collectToolPages(fetchPage: (cursor: string | undefined) => Promise<ToolsPage>, maxPages: number = MAX_TOOL_PAGES): Promise<CollectedTools> {
  const tools: Tool[] = [];
  const dropped: string[] = [];
  let cursor: string | undefined;
  // A cursor given twice sends the listing round in a loop: refused when it comes back, not after every page.
  const cursors = new Set<string>();
  for (let page = 0; ; page++) {
    if (page >= maxPages) throw ResolveError.of('', 'TOOL_DRIFT', `the server returned more than ${maxPages} pages of tools`);
    const result = await fetchPage(cursor);
    if (!Array.isArray(result.tools)) throw ResolveError.of('', 'TOOL_DRIFT', 'the server answered tools/list without a list of tools');
    for (const live of result.tools as unknown[]) {
      if (typeof live !== 'object' || live === null || Array.isArray(live)) throw ResolveError.of('', 'TOOL_DRIFT', 'the server listed a tool that is not an object');
      const normal = normalizeTool(live as Record<string, unknown>);
      tools.push(normal.tool);
      dropped.push(...normal.dropped.map((d) => `${String(normal.tool.name)}.${d}`));
    }
    // One past the limit is enough to refuse; stop reading rather than hold an unbounded list.
    if (tools.length > LIMITS.tools) break;
    const next = result.nextCursor;
    if (next === undefined || next === null) break;
    if (typeof next !== 'string') throw ResolveError.of('', 'TOOL_DRIFT', 'the server returned a tools/list cursor that is not a string');
    if (next.length > MAX_CURSOR_LENGTH) throw ResolveError.of('', 'TOOL_DRIFT', `the server returned a tools/list cursor longer than ${MAX_CURSOR_LENGTH} characters`);
    if (cursors.has(next)) throw ResolveError.of('', 'TOOL_DRIFT', 'the server returned a tools/list cursor it had already given (a cursor loop)');
    cursors.add(next);
    cursor = next;
  }
  return { tools, dropped };
}
