/**
 * Member names read one way only. The firewall reads a message's members by their exact names, as
 * JavaScript does; Go's `encoding/json` (and so MCP servers and clients built on it) and .NET with
 * `PropertyNameCaseInsensitive` match a key to a member case-insensitively, with Unicode folding
 * (`Name`, `NAME`, `ſ` for `s`, the Kelvin sign for `k`), and a Python model may take a snake_case
 * spelling for its camelCase alias (`input_requests`). A key the firewall skips as unknown (`Name`
 * beside a checked `name`, `Instructions` in an opening result, `paramſ` beside `params`) would be
 * read there as the member itself: a call of an unpinned tool, instructions nobody pinned. So in
 * every object whose members the firewall reads (the message, its `params`, `result` and `error`,
 * and the objects inside them it checks), a key that folds to the name of a member MCP defines but
 * is not that name exactly is refused, as a duplicate key is (docs/resolver.md, "`sigil run`: the
 * message firewall").
 * Payloads the firewall does not read (a call's `arguments`, `structuredContent`, `_meta` maps,
 * schemas) are the peers' own data and keep any keys.
 */

type Obj = Record<string, unknown>;

/** JSON-RPC's own members. */
const ENVELOPE: readonly string[] = ['jsonrpc', 'id', 'method', 'params', 'result', 'error'];

/**
 * Member names MCP defines at the places the firewall reads (2025-03-26 to 2026-07-28), every one
 * the firewall itself reads among them. A key that folds to one of these must be it exactly.
 */
export const MEMBERS: ReadonlySet<string> = new Set([
  ...ENVELOPE,
  'code', 'message', 'data', 'supported', 'requested',
  'name', 'title', 'version', 'description', 'arguments', 'cursor', 'nextCursor', '_meta',
  'tools', 'instructions', 'serverInfo', 'clientInfo', 'capabilities', 'protocolVersion', 'supportedVersions',
  'content', 'type', 'text', 'isError', 'structuredContent', 'resultType', 'inputRequests', 'requestState',
  'task', 'tasks', 'taskId', 'status', 'statusMessage', 'ttl', 'ttlMs', 'cacheScope', 'pollInterval', 'createdAt', 'lastUpdatedAt',
  'requestId', 'reason', 'progressToken', 'progress', 'total', 'level', 'logger',
  'uri', 'mimeType', 'resource', 'blob', 'annotations', 'icons', 'inputSchema', 'outputSchema',
  'messages', 'systemPrompt', 'includeContext', 'temperature', 'maxTokens', 'stopSequences', 'metadata', 'modelPreferences', 'toolChoice',
  'roots', 'mode', 'requestedSchema', 'elicitationId', 'url', 'subscriptionId', 'taskIds', 'ref', 'argument', 'context',
]);

/**
 * Simple case folding as Go's `strings.EqualFold` compares (and more: folding more only refuses
 * more), and without underscores: a Python model that takes a field by its snake_case name as well
 * as by its alias (pydantic's `populate_by_name`) reads `is_error` as `isError`, `meta` as `_meta`.
 */
export const fold = (key: string): string => key.replaceAll('_', '').toUpperCase().toLowerCase();

const FOLDED: ReadonlyMap<string, string> = new Map([...MEMBERS].map((name) => [fold(name), name]));

/**
 * Where the firewall reads members, below the message: for each member whose value (an object, or
 * a list of objects) the firewall reads, what it reads inside. A map (`inputRequests`, `_meta`:
 * its keys are names of the peer's choosing, not members) is marked {@link MAP}; `*` is each of its
 * values.
 */
interface Places {
  readonly [member: string]: Places;
}
const MAP = '#map';
const BLOCKS: Places = { resource: {} };
const INPUT_REQUESTS: Places = { [MAP]: {}, '*': { params: { tools: {} } } };
const CALL_RESULT: Places = { content: BLOCKS, task: {}, serverInfo: {}, inputRequests: INPUT_REQUESTS };
const PLACES: Places = {
  params: { task: {}, tools: {} },
  result: { ...CALL_RESULT, tools: {}, tasks: {}, result: CALL_RESULT, _meta: { [MAP]: {}, 'io.modelcontextprotocol/serverInfo': {} } },
  error: { data: {} },
};

/** Why a parsed message holds a key read two ways (see above), or undefined. */
export const variantKeyProblem = (message: Obj): string | undefined => placeProblem(message, PLACES);

function placeProblem(value: unknown, places: Places): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = placeProblem(item, places);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const object = value as Obj;
  if (!(MAP in places)) for (const key in object) {
    if (MEMBERS.has(key)) continue;
    const member = FOLDED.get(fold(key));
    if (member !== undefined) return `the key ${JSON.stringify(key.slice(0, 40))} is not MCP's ${JSON.stringify(member)} but reads as it case-insensitively`;
  }
  for (const member in places) {
    const inner = places[member]!;
    if (member === MAP) continue;
    if (member === '*') {
      for (const key in object) {
        const problem = placeProblem(object[key], inner);
        if (problem) return problem;
      }
    } else if (object[member] !== undefined) {
      const problem = placeProblem(object[member], inner);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Whether a key (not one of {@link MEMBERS}) folds to a member name: the hot path leaves such lines to the full one. */
export const isVariantKey = (key: string): boolean => !MEMBERS.has(key) && FOLDED.has(fold(key));
