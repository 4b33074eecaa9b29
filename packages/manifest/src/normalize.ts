import type { Tool, ToolAnnotations } from './schema.js';

const TOOL_KEYS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', '_meta'] as const;
const ANNOTATION_KEYS = ['title', 'readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

/**
 * Brings a tool as a live MCP server lists it (`tools/list`) to the manifest's form: the
 * contract's fields only, in the same shape, so that a pinned tool and a live tool can be
 * compared by digest. Fields outside the format (newer protocol fields such as `icons` or
 * `execution`) are dropped and named in `dropped`, so callers can say so rather than hide it.
 * The result is not validated here: run it through `checkManifestValue` as part of a manifest.
 */
export function normalizeTool(live: Record<string, unknown>): { tool: Tool; dropped: string[] } {
  const dropped: string[] = [];
  const tool: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(live)) {
    if (value === undefined) continue;
    if (!(TOOL_KEYS as readonly string[]).includes(key)) {
      dropped.push(key);
      continue;
    }
    if (key === 'annotations' && typeof value === 'object' && value !== null) {
      const annotations: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if ((ANNOTATION_KEYS as readonly string[]).includes(k)) {
          if (v !== undefined) annotations[k] = v;
        } else dropped.push(`annotations.${k}`);
      }
      if (Object.keys(annotations).length > 0) tool.annotations = annotations as ToolAnnotations;
      continue;
    }
    tool[key] = value;
  }
  // MCP makes a tool's description optional; the manifest always carries one, possibly empty.
  if (tool.description === undefined) tool.description = '';
  return { tool: tool as Tool, dropped };
}
