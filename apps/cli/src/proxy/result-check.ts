type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The shape of a `tools/call` result for a pinned tool (MCP 2025-06-18 and later, `CallToolResult`):
 * `content` a list of content blocks, each with a string `type` and, for the types MCP defines, the
 * fields that carry it; `isError` a boolean; `structuredContent` an object, and present when the
 * pinned tool declares an `outputSchema` (the specification: servers MUST give structured results
 * conforming to it) unless the call failed. A task (`task`, 2025-11-25) and a modern result that is
 * not `complete` (`resultType: "input_required"`) are other shapes, passed as they are.
 *
 * Not checked here: `structuredContent` against the `outputSchema` itself. That needs a JSON Schema
 * validator on the hot path, and both official clients validate it against the outputSchema they
 * listed, which through `sigil run` is the pinned one. Returns why the result is refused, or
 * `undefined`; cheap (one pass over the content blocks).
 */
export function callResultProblem(result: Obj, hasOutputSchema: boolean): string | undefined {
  if (result.task !== undefined || (result.resultType !== undefined && result.resultType !== 'complete')) return undefined;
  const { content, isError, structuredContent } = result;
  if (content !== undefined) {
    if (!Array.isArray(content)) return 'its content is not a list';
    for (const block of content as unknown[]) {
      const problem = blockProblem(block);
      if (problem) return problem;
    }
  }
  if (isError !== undefined && typeof isError !== 'boolean') return 'its isError is not a boolean';
  if (structuredContent !== undefined && !isObj(structuredContent)) return 'its structuredContent is not an object';
  if (hasOutputSchema && structuredContent === undefined && isError !== true) return 'the tool is pinned with an outputSchema and the result has no structuredContent';
  return undefined;
}

function blockProblem(block: unknown): string | undefined {
  if (!isObj(block) || typeof block.type !== 'string') return 'a content block is not an object with a type';
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? undefined : 'a text block has no text';
    case 'image':
    case 'audio':
      return typeof block.data === 'string' && typeof block.mimeType === 'string' ? undefined : `an ${block.type} block has no data or mimeType`;
    case 'resource':
      return isObj(block.resource) && typeof block.resource.uri === 'string' ? undefined : 'a resource block has no resource with a uri';
    case 'resource_link':
      return typeof block.uri === 'string' && typeof block.name === 'string' ? undefined : 'a resource_link block has no uri or name';
    default:
      // A content type of a later revision: the host ignores what it does not know.
      return undefined;
  }
}
