type Obj = Record<string, unknown>;

/** Longest task id a server may give (the proxy keeps each until its result is asked for), as for its request ids. */
export const MAX_TASK_ID_LENGTH = 256;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The shape of a `tools/call` result for a pinned tool (MCP 2025-06-18 and later, `CallToolResult`):
 * `content` a list of content blocks, each with a string `type` and, for the types MCP defines, the
 * fields that carry it; `isError` a boolean; `structuredContent` an object, and present when the
 * pinned tool declares an `outputSchema` (the specification: servers MUST give structured results
 * conforming to it) unless the call failed. A task (`task`, 2025-11-25) is another shape: its
 * `taskId` a string of 1 to {@link MAX_TASK_ID_LENGTH} characters (its `tasks/result` answer is
 * checked by this function), and no structuredContent required; a modern result that is not
 * `complete` is checked by {@link inputRequiredProblem}, and refused in a 2025 session (`era`).
 * A `tasks/result` answer (`method`) is the call's own result: one naming a task is refused.
 * Content, isError and structuredContent are checked whenever present, whatever the shape.
 *
 * Not checked here: `structuredContent` against the `outputSchema` itself, which output-check.ts
 * does (the firewall asks it after this). Returns why the result is refused, or `undefined`; cheap
 * (one pass over the content blocks).
 */
export function callResultProblem(result: Obj, hasOutputSchema: boolean, era: 'legacy' | 'modern' = 'modern', method: 'tools/call' | 'tasks/result' = 'tools/call'): string | undefined {
  const pending = result.resultType !== undefined && result.resultType !== 'complete';
  if (pending) {
    // `resultType` is of revision 2026-07-28: a 2025 host reads such a result as a finished call.
    if (era !== 'modern') return 'its resultType is not complete, which a 2025 session has no such result for';
    const problem = inputRequiredProblem(result);
    if (problem) return problem;
  }
  if (result.task !== undefined) {
    // A task's own result (tasks/result) is the call's result, never another task.
    if (method === 'tasks/result') return 'it is the result of a task and names a task';
    if (!isObj(result.task) || typeof result.task.taskId !== 'string') return 'its task has no taskId';
    // The proxy keeps each task's id until its result is asked for: bounded like a server's request ids.
    if (result.task.taskId.length === 0 || result.task.taskId.length > MAX_TASK_ID_LENGTH) return `its task id is empty or longer than ${MAX_TASK_ID_LENGTH} characters`;
  }
  // Whatever else the result is (a task, a request for input), what it carries of a CallToolResult
  // is checked: a field the host may read is never passed unchecked.
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
  // Only the call's own complete result must carry structuredContent (a task's comes with tasks/result).
  if (hasOutputSchema && !pending && result.task === undefined && structuredContent === undefined && isError !== true) return 'the tool is pinned with an outputSchema and the result has no structuredContent';
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

/**
 * Whether a `server/discover` answer is a discover result as the 2.x client reads one
 * (`supportedVersions` a list of strings, `capabilities` an object); the client falls back to
 * `initialize` on anything else.
 */
export const isDiscoverResult = (result: Obj): boolean => Array.isArray(result.supportedVersions) && result.supportedVersions.every((v) => typeof v === 'string') && isObj(result.capabilities);

/** What a 2026-07-28 `input_required` result may ask the host for (the InputRequest union). */
const INPUT_REQUEST_METHODS: ReadonlySet<string> = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);

/**
 * A modern result that is not `complete` (any method's, MCP 2026-07-28): `resultType` must be
 * `input_required`, and each of its `inputRequests` one of the requests a server may make of its
 * host (sampling, elicitation, roots), as for server-to-host requests; `requestState` a string.
 * An input request is a server request riding inside a result: a host that ran whatever it names
 * must not be made to run a `tools/call` of the server's choosing this way either.
 */
export function inputRequiredProblem(result: Obj): string | undefined {
  if (result.resultType !== 'input_required') return 'its resultType is neither complete nor input_required';
  const { requestState } = result;
  if (requestState !== undefined && typeof requestState !== 'string') return 'its requestState is not a string';
  return inputRequestsProblem(result.inputRequests);
}

/**
 * The `inputRequests` of any result (an input_required one, or a 2026-07-28 task's `tasks/get`,
 * which carries them in a complete result): each one of the requests a server may make of its host.
 */
export function inputRequestsProblem(inputRequests: unknown): string | undefined {
  if (inputRequests === undefined) return undefined;
  if (!isObj(inputRequests)) return 'its inputRequests is not an object';
  for (const key in inputRequests) {
    const request = inputRequests[key];
    if (!isObj(request) || typeof request.method !== 'string' || !INPUT_REQUEST_METHODS.has(request.method)) return 'one of its inputRequests is not a request a server may make of its host';
    if (request.params !== undefined && !isObj(request.params)) return 'one of its inputRequests has params that are not an object';
  }
  return undefined;
}
