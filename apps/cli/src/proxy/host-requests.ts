/**
 * The requests an MCP host sends its server (revisions 2025-06-18, 2025-11-25 and 2026-07-28, as
 * the official clients send them), the only host requests `sigil run` forwards. The firewall
 * checks what it knows the answers of: tool listings and calls against the pin, an opening's
 * instructions and identity, tasks as the results of the calls that started them; the rest are
 * MCP's own data requests (prompts, resources, completions) that docs/resolver.md lists as not
 * pinned. Any other method (an extension's, such as the skills extension's `skills/list`,
 * `skills/get` and `resources/directory/read`, whose answers carry text for the host's model the
 * firewall has not checked) is answered -32601 here and never reaches the server: fail closed.
 */
export const HOST_REQUEST_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'subscriptions/listen',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'tasks/update',
]);
