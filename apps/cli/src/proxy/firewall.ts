import { normalizeTool, type Manifest, type Tool } from '@sigil/manifest';
import { collectToolPages } from '@sigil/resolver';
import { readHot, type Hot } from './hot-path.js';
import { IdentityCheck } from './identity-check.js';
import { HOST_REQUEST_METHODS } from './host-requests.js';
import { IdMap } from './ids.js';
import { classify, decodeLine, NOT_UTF8, parseText, withId, withProxyId, type Classified, type JsonRpcId } from './message.js';
import { callResultProblem, inputRequestsProblem, inputRequiredProblem, isDiscoverResult, isObj } from './result-check.js';
import { OutputCheck, type SchemaValidator } from './output-check.js';
import { MAX_SERVER_ID_LENGTH, MAX_SERVER_REQUESTS, SERVER_NOTIFICATION_METHODS, SERVER_REQUEST_METHODS, ServerRequests, taskStatus } from './server-requests.js';
import { ToolsCheck, type Drift } from './tools-check.js';

/**
 * The firewall's states:
 * - `starting`: no opening request from the host yet; everything is held.
 * - `verifying`: the opening (`initialize`, or `server/discover` in the 2026-07-28 era) went to the
 *   server, or a `tools/list_changed` re-check runs; the proxy lists the tools itself and compares
 *   them with the pin. Nothing from the server reaches the host; host traffic is held.
 * - `open`: traffic flows, each message checked on the way.
 * - `closed`: the session ended (the server went away) or Sigil refused it (`refusal` is set).
 */
export type FirewallState = 'starting' | 'verifying' | 'open' | 'closed';

/** Codes Sigil answers or refuses with. */
export type FirewallCode = 'TOOL_DRIFT' | 'TOOL_NOT_PINNED' | 'MESSAGE_INVALID' | 'BATCH_REFUSED' | 'MESSAGE_TOO_LARGE' | 'SERVER_UNREACHABLE' | 'HELD_LIMIT' | 'RESULT_INVALID';

/** JSON-RPC error numbers: the standard ones, then the implementation-defined server-error range. */
const RPC: Record<FirewallCode, number> = {
  MESSAGE_INVALID: -32600,
  BATCH_REFUSED: -32600,
  MESSAGE_TOO_LARGE: -32700,
  TOOL_DRIFT: -32001,
  TOOL_NOT_PINNED: -32002,
  SERVER_UNREACHABLE: -32004,
  HELD_LIMIT: -32005,
  RESULT_INVALID: -32006,
};
const PARSE_ERROR = -32700;
const METHOD_NOT_FOUND = -32601;

/** What the host is told for each refusal of the whole session. */
const REFUSED: Record<FirewallCode, string> = {
  TOOL_DRIFT: 'the live server differs from the pinned manifest',
  TOOL_NOT_PINNED: 'a tool outside the pinned manifest was called',
  MESSAGE_INVALID: 'the server sent a message that cannot be checked',
  BATCH_REFUSED: 'the server sent a JSON-RPC batch',
  MESSAGE_TOO_LARGE: 'the server sent a message over the size limit',
  SERVER_UNREACHABLE: 'the server could not be started',
  HELD_LIMIT: 'the server sent too much before its tools were checked',
  RESULT_INVALID: 'the server answered a tool call with a result that is not a CallToolResult',
};

/** Most messages, and bytes, held in each direction while the firewall is not open. */
export const MAX_HELD = 1024;
export const MAX_HELD_BYTES = 16 * 1024 * 1024;

const META = { protocolVersion: 'io.modelcontextprotocol/protocolVersion', clientInfo: 'io.modelcontextprotocol/clientInfo', clientCapabilities: 'io.modelcontextprotocol/clientCapabilities', subscriptionId: 'io.modelcontextprotocol/subscriptionId' } as const;

/** Methods whose results `deliver` checks, caps or rewrites before the host sees them. */
const CHECKED_RESULTS = new Set(['tools/list', 'initialize', 'server/discover', 'subscriptions/listen', 'tasks/result', 'tasks/get', 'tasks/cancel', 'tasks/update', 'tasks/list']);

/**
 * Host requests that name a task (`params.taskId`): `tasks/result` (2025-11-25) answers with the
 * tool's result, and a 2026-07-28 task's `tasks/get` may carry it (`result`) or ask the host for
 * input (`inputRequests`). Each must name a task a pinned tool's call started in this session,
 * whose tool the answer is checked against.
 */
const TASK_REQUESTS = new Set(['tasks/result', 'tasks/get', 'tasks/cancel', 'tasks/update']);

/** Dropped messages logged one line each in a session; past them, one line per {@link DROPPED_LOG_EVERY} (Firewall.dropped). */
export const MAX_DROPPED_LOGS = 100;
export const DROPPED_LOG_EVERY = 1000;

/** Most tasks a session remembers (task id to the pinned tool whose call started it); past it, the oldest is forgotten. */
export const MAX_TASKS = 1024;

type Obj = Record<string, unknown>;
type Request = Extract<Classified, { kind: 'request' }>;
type Response = Extract<Classified, { kind: 'response' }>;
/** A page of the proxy's own listing that already differs from the pin. */
class PageDrift extends Error {
  constructor(readonly drift: Drift) {
    super(drift.reason);
  }
}

/** An answer to a request of the proxy's own; `timedOut` when none came in time (its error is the proxy's). */
type Answer = { result?: Obj | undefined; error?: Obj | undefined; timedOut?: true };
type Held = { m: Classified; size: number };

export interface FirewallOptions {
  /** The pinned, verified manifest the server must match. */
  manifest: Manifest;
  /** Writes one message (without the newline) to the host, and to the server. */
  toHost: (text: string) => void;
  toServer: (text: string) => void;
  /** One structured log line. */
  log: (event: Obj) => void;
  /** Called once when Sigil refuses the session, to stop the server. */
  onRefused: (code: FirewallCode) => void;
  /** Longest wait for each answer to the proxy's own requests. */
  checkTimeoutMs: number;
  /**
   * Longest a whole tools check may take, every page together (default 60 s): a server answering
   * each page of the proxy's listing just inside `checkTimeoutMs`, with a new cursor each time,
   * would otherwise hold the host's traffic for 64 of them.
   */
  checkDeadlineMs?: number;
  /** The policy's `liveTools: "pinned-subset"`: the opening check lets the server leave pinned tools out. */
  allowMissingTools?: boolean;
  /**
   * The JSON Schema validator structured results are held to their pinned outputSchema with
   * (loadSchemaValidator, output-check.ts). Without it, structured content of a tool pinned with an
   * outputSchema is refused.
   */
  schemaValidator?: SchemaValidator;
}

/**
 * The message firewall of `sigil run`, as an explicit state machine over whole messages (framing
 * and the server process live in guard-proxy.ts). Every host request travels under a proxy-owned
 * id; what is forwarded is `JSON.stringify` of the strictly parsed, checked message; every tools
 * listing the host receives is checked tool by tool against the pin.
 */
export class Firewall {
  state: FirewallState = 'starting';
  /** Set when Sigil refused the session. */
  refusal: { code: FirewallCode; reason: string } | undefined;
  /** Set when the server went away (exited, or stopped reading): what later host requests are answered. */
  private ended: { code: FirewallCode; reason: string } | undefined;
  private era: 'legacy' | 'modern' | undefined;
  /** The modern per-request envelope the host opened with, reused on the proxy's own requests. */
  private envelope: Obj | undefined;
  /** The opening exchange: the host's own `initialize`/`server/discover`, or the proxy's `server/discover`. */
  private opening: { proxyId: string; host: Request | undefined; trigger?: Request; /** The server answered it (the tools check runs). */ answered?: true } | undefined;
  /** Held messages with their size on the wire (for the held-bytes bound). */
  private heldHost: Held[] = [];
  private heldServer: Held[] = [];
  private heldHostBytes = 0;
  private heldServerBytes = 0;
  private readonly ids = new IdMap();
  /** Server-to-host requests awaiting the host's answer, under proxy-owned ids. */
  private readonly serverRequests = new ServerRequests();
  /** A `tools/list_changed` that arrived while a check ran: one re-check follows it, however many came. */
  private pendingListChanged: Obj | undefined;
  private readonly check: ToolsCheck;
  private readonly identity: IdentityCheck;
  private readonly output: OutputCheck;
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * Tasks started by a `tools/call` (its result was a task), by task id, to the pinned tool called:
   * the `tasks/result` answer is that tool's result, checked as one. Forgotten once answered, and
   * the oldest past {@link MAX_TASKS}.
   */
  private readonly tasks = new Map<string, string>();
  /** Legacy era: the proxy sent `notifications/initialized` itself, so the host's copy is dropped. */
  private dropHostInitialized = false;
  /** Waiting for the firewall to leave `verifying`: see {@link Firewall.afterVerifying}. */
  private verifyingWaiters: Array<() => void> = [];
  /** What the last whole check listed: how many tools, and which pinned ones the server left out. */
  private listed: { tools: number; missing: string[] } = { tools: 0, missing: [] };

  /** Messages dropped (and answered or ignored) in this session, by kind: see {@link Firewall.dropped}. */
  private readonly droppedCounts = new Map<string, number>();

  constructor(private readonly options: FirewallOptions) {
    this.check = new ToolsCheck(options.manifest, options.allowMissingTools === true);
    this.identity = new IdentityCheck(options.manifest);
    this.output = new OutputCheck(options.manifest, options.schemaValidator);
  }

  // ---- host side ----------------------------------------------------------------------------

  /** One line from the host. */
  fromHost(bytes: Uint8Array): void {
    const text = decodeLine(bytes);
    if (text === undefined) return this.answerHost(null, 'MESSAGE_INVALID', NOT_UTF8, PARSE_ERROR);
    if (this.state === 'open') {
      const hot = readHot(text);
      if (hot?.kind === 'request' && this.admitHot(hot)) return;
    }
    const parsed = parseText(text);
    if (!parsed.ok) return this.answerHost(null, 'MESSAGE_INVALID', parsed.reason, PARSE_ERROR);
    this.hostMessage(classify(parsed.value, parsed.wire), bytes.length);
  }

  /** A host line over the size limit: refused, never forwarded. */
  hostOversize(limit: number): void {
    this.answerHost(null, 'MESSAGE_TOO_LARGE', `the message is larger than ${limit} bytes`);
  }

  private hostMessage(m: Classified, size: number): void {
    if (m.kind === 'batch') return this.answerHost(null, 'BATCH_REFUSED', 'JSON-RPC batches are not part of MCP since revision 2025-06-18');
    if (m.kind === 'invalid') return this.answerHost(m.id, 'MESSAGE_INVALID', m.reason);
    if (this.state === 'closed') {
      // Every request is answered, after a refusal and after the server went away alike: a host
      // request left without an answer waits for ever.
      const ended = this.refusal ?? this.ended!;
      if (m.kind === 'request') this.answerHost(m.id, ended.code, ended.reason);
      return;
    }
    if (m.kind === 'response') return this.hostResponse(m);
    if (this.state === 'open') return this.admit(m);
    if (this.state === 'verifying' && m.kind === 'request' && m.method === 'initialize' && this.era === 'modern' && this.opening !== undefined && this.opening.answered !== true) this.fallBack();
    if (this.state === 'starting' && m.kind === 'request') {
      if (m.method === 'initialize') return this.begin('legacy', m, size);
      if (m.method === 'server/discover' || typeof m.params?._meta === 'object') {
        const meta = (m.params?._meta ?? {}) as Obj;
        if (m.method === 'server/discover' || typeof meta[META.protocolVersion] === 'string') return this.begin('modern', m, size);
      }
    }
    this.holdHost(m, size);
  }

  private holdHost(m: Classified, size: number): void {
    if (this.heldHost.length >= MAX_HELD || this.heldHostBytes + size > MAX_HELD_BYTES) {
      if (m.kind === 'request') this.answerHost(m.id, 'HELD_LIMIT', `more than ${MAX_HELD} messages or ${MAX_HELD_BYTES} bytes are waiting for the tools check`);
      return;
    }
    this.heldHostBytes += size;
    this.heldHost.push({ m, size });
  }

  /** Empties the host queue (to re-dispatch or answer it). */
  private takeHeldHost(): Held[] {
    const held = this.heldHost;
    this.heldHost = [];
    this.heldHostBytes = 0;
    return held;
  }

  /** A host answer to a server request: forwarded, under the server's own id, only if it names an outstanding one exactly. */
  private hostResponse(m: Response): void {
    const serverId = this.serverRequests.take(m.id);
    if (serverId === undefined) {
      this.dropped('host-answer', { reason: 'the host answered a request the server has not sent (or no longer waits for)' });
      return;
    }
    const text = m.wire && withId(m.wire, serverId);
    if (text !== undefined) return this.options.toServer(text);
    this.sendServer({ ...m.message, id: serverId });
  }

  /** Open state: checks one host message and forwards it under a proxy id. */
  private admit(m: Exclude<Classified, { kind: 'batch' | 'invalid' | 'response' }>): void {
    if (m.kind === 'notification') {
      if (m.method === 'notifications/initialized' && this.dropHostInitialized) {
        this.dropHostInitialized = false;
        return;
      }
      // Every MCP notification is named `notifications/…`. Any other method without an id (a
      // `tools/call`, say) is a request in disguise: a lenient server may run it all the same, and
      // the pin check below is for requests, so it is dropped here (a notification gets no answer).
      if (!m.method.startsWith('notifications/')) {
        this.dropped('host-notification', { reason: 'the host sent a notification whose method is not a notification', method: m.method.slice(0, 200) });
        return;
      }
      if (m.method === 'notifications/cancelled') {
        const proxyId = this.ids.cancel(m.params?.requestId);
        if (proxyId !== undefined) this.sendServer({ ...m.message, params: { ...m.params, requestId: proxyId } });
        return;
      }
      return this.forwardServer(m);
    }
    if (!HOST_REQUEST_METHODS.has(m.method)) {
      this.dropped('host-request', { reason: 'the host sent a request that is not one of MCP’s that sigil run checks', method: m.method.slice(0, 200) });
      return this.answerHost(m.id, 'MESSAGE_INVALID', `${m.method.slice(0, 200)} is not an MCP request sigil run checks; it is not forwarded`, METHOD_NOT_FOUND);
    }
    if (m.method === 'tools/call' && !this.check.allows(m.params?.name)) {
      const name = m.params?.name;
      this.options.log({ level: 'warn', event: 'sigil.run.refused-call', code: 'TOOL_NOT_PINNED', server: this.options.manifest.name, tool: typeof name === 'string' ? name : null });
      return this.answerHost(m.id, 'TOOL_NOT_PINNED', `the tool ${JSON.stringify(name ?? null)} is not in the pinned manifest of ${this.options.manifest.name}@${this.options.manifest.version}`);
    }
    if (m.method === 'initialize') return this.answerHost(m.id, 'MESSAGE_INVALID', 'the session is already initialized');
    let tool = m.method === 'tools/call' ? (m.params!.name as string) : undefined;
    let task: string | undefined;
    if (TASK_REQUESTS.has(m.method)) {
      // Its answer may be (or carry) the result of the tool whose call started the task, and is
      // checked as one: a task this session did not see started by a pinned tool's call (or already
      // answered) has no tool to check it against, so the request is refused here and never
      // reaches the server.
      const taskId = m.params?.taskId;
      tool = typeof taskId === 'string' ? this.tasks.get(taskId) : undefined;
      if (tool === undefined) {
        this.dropped('host-task', { reason: `the host asked ${m.method} for a task no call of a pinned tool started in this session, or one already answered`, method: m.method });
        return this.answerHost(m.id, 'MESSAGE_INVALID', `${m.method} names a task that no call of a pinned tool started in this session (or that was already answered)`);
      }
      task = taskId as string;
    }
    const proxyId = this.ids.issue({ origin: 'host', hostId: m.id, method: m.method, cancelled: false, tool, task });
    const text = m.wire && withId(m.wire, proxyId);
    if (text !== undefined) return this.options.toServer(text);
    // The parsed message is the firewall's own: its id is replaced in place (same key order as a copy).
    m.message.id = proxyId;
    this.sendServer(m.message);
  }

  /**
   * Open state, a request read by the hot path (hot-path.ts: a canonical line, so its own text is
   * JSON.stringify of what it holds): what `admit` does with it, without the parsed value. False,
   * and nothing done, for what admit answers itself (an unpinned tool, a second initialize): the
   * line then takes the full path.
   */
  private admitHot(m: Extract<Hot, { kind: 'request' }>): boolean {
    if (m.method === 'initialize' || TASK_REQUESTS.has(m.method) || !HOST_REQUEST_METHODS.has(m.method) || (m.method === 'tools/call' && !this.check.allows(m.name))) return false;
    const proxyId = this.ids.issue({ origin: 'host', hostId: m.id, method: m.method, cancelled: false, tool: m.method === 'tools/call' ? m.name : undefined });
    this.options.toServer(withProxyId(m.wire, proxyId)!);
    return true;
  }

  /**
   * The host gave up on a modern opening the server has not answered (a 2025-only server that
   * ignores `server/discover`: the host's probe timed out) and falls back to `initialize`, on the
   * same connection, as the 2.x client does on stdio: the discover is abandoned (its late answer
   * dropped quietly, the server told) and the session starts again from `initialize`; what the host
   * sent meanwhile waits for that opening; the host's discover is answered `-32001`.
   */
  private fallBack(): void {
    const opening = this.opening!;
    this.ids.abandon(opening.proxyId);
    this.sendServer({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: opening.proxyId, reason: 'the host fell back to initialize' } });
    // Every host request is answered, this one too (a host that gave up on it ignores the answer).
    if (opening.host) this.sendHost({ jsonrpc: '2.0', id: opening.host.id, error: { code: -32001, message: 'the server did not answer server/discover before the host sent initialize' } });
    this.options.log({ level: 'info', event: 'sigil.run.fallback', server: this.options.manifest.name, reason: 'the host sent initialize before the server answered server/discover' });
    this.state = 'starting';
    this.era = undefined;
    this.opening = undefined;
    this.envelope = undefined;
  }

  /** The host's opening request: start verifying. */
  private begin(era: 'legacy' | 'modern', m: Request, size: number): void {
    this.state = 'verifying';
    this.era = era;
    if (era === 'modern') {
      const meta = (m.params?._meta ?? {}) as Obj;
      this.envelope = Object.fromEntries([META.protocolVersion, META.clientInfo, META.clientCapabilities].filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
      if (this.envelope[META.protocolVersion] === undefined) this.envelope[META.protocolVersion] = '2026-07-28';
    }
    if (m.method === 'initialize' || m.method === 'server/discover') {
      const proxyId = this.ids.issue({ origin: 'host', hostId: m.id, method: m.method, cancelled: false, tool: undefined });
      this.opening = { proxyId, host: m };
      this.sendServer({ ...m.message, id: proxyId });
      return;
    }
    // A modern host that skipped discovery (a cached result): the proxy discovers for itself.
    this.holdHost(m, size);
    const proxyId = this.ask('server/discover', { _meta: this.envelope }, (answer) => this.openingAnswered(answer));
    this.opening = { proxyId, host: undefined, trigger: m };
  }

  // ---- server side --------------------------------------------------------------------------

  /** One line from the server. */
  fromServer(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    const text = decodeLine(bytes);
    if (text === undefined) return this.refuse('MESSAGE_INVALID', { reason: `the server sent a message that cannot be checked: ${NOT_UTF8}`, details: {} });
    if (this.state === 'open') {
      const hot = readHot(text);
      if (hot?.kind === 'answer' && this.deliverHot(hot)) return;
    }
    const parsed = parseText(text);
    if (!parsed.ok) return this.refuse('MESSAGE_INVALID', { reason: `the server sent a message that cannot be checked: ${parsed.reason}`, details: {} });
    const m = classify(parsed.value, parsed.wire);
    if (m.kind === 'batch') return this.refuse('BATCH_REFUSED', { reason: 'the server sent a JSON-RPC batch, which MCP no longer has', details: {} });
    if (m.kind === 'invalid') return this.refuse('MESSAGE_INVALID', { reason: `the server sent an invalid message: ${m.reason}`, details: {} });
    this.serverMessage(m, bytes.length);
  }

  /** A server line over the size limit. */
  serverOversize(limit: number): void {
    this.refuse('MESSAGE_TOO_LARGE', { reason: `the server sent a message larger than ${limit} bytes`, details: {} });
  }

  private serverMessage(m: Exclude<Classified, { kind: 'batch' | 'invalid' }>, size: number): void {
    if (this.state === 'closed') return;
    if (m.kind === 'response') {
      const entry = this.ids.peek(m.id);
      if (!entry) return this.refuse('TOOL_DRIFT', { reason: 'the server answered a request that is not outstanding (an unknown, reused or retyped id)', details: { id: m.id } });
      if (entry.origin === 'proxy') {
        this.ids.take(m.id);
        return entry.settle({ result: m.result, error: m.error });
      }
      if (this.opening?.proxyId === m.id) {
        this.ids.take(m.id);
        return this.openingAnswered({ result: m.result, error: m.error });
      }
      // Answers to host requests wait for `open` (a re-check may be running).
      if (this.state !== 'open') return this.holdServer(m, size);
      this.ids.take(m.id);
      if (entry.cancelled) return;
      return this.deliver(entry.hostId, entry.method, m, entry.tool, entry.task);
    }
    if (m.kind === 'notification' && m.method === 'notifications/tools/list_changed') {
      // Coalesced: while a check runs (or before the first), any number of notices make one re-check after it.
      if (this.state !== 'open') {
        this.pendingListChanged = m.message;
        return;
      }
      return this.recheck(m.message);
    }
    if (this.state !== 'open') return this.holdServer(m, size);
    if (m.kind === 'request') return this.serverRequest(m);
    if (m.method === 'notifications/cancelled') return this.serverCancelled(m.message);
    if (!SERVER_NOTIFICATION_METHODS.has(m.method)) {
      this.dropped('server-notification', { reason: 'the server sent a notification that is not one an MCP server sends its host', method: m.method.slice(0, 200) });
      return;
    }
    if (m.method === 'notifications/tasks/status') return this.serverTaskStatus(m);
    const message = this.withHostSubscription(m.message);
    if (message === m.message) return this.forwardHost(m);
    if (message === undefined) return this.droppedSubscription(m.method);
    this.sendHost(message);
  }

  /**
   * A task's status, pushed (2025-11-25): only for a task a pinned tool's call started in this
   * session, and with a task's own members only, so no result or input request rides in it past
   * the checks `tasks/get` and `tasks/result` answers get.
   */
  private serverTaskStatus(m: Extract<Classified, { kind: 'notification' }>): void {
    const params = m.params ?? {};
    if (typeof params.taskId !== 'string' || !this.tasks.has(params.taskId)) {
      this.dropped('server-task', { reason: 'the server sent the status of a task no call of a pinned tool started in this session (or one already answered)', method: m.method });
      return;
    }
    const out = this.withHostSubscription({ jsonrpc: '2.0', method: m.method, params: taskStatus(params) });
    if (out === undefined) return this.droppedSubscription(m.method);
    this.sendHost(out);
  }

  private droppedSubscription(method: string): void {
    this.dropped('server-subscription', { reason: 'the server sent a notification for a subscription the host has not opened', method: method.slice(0, 200) });
  }

  /** A server-to-host request, open state: an MCP one goes to the host under a proxy id; anything else is answered here. */
  private serverRequest(m: Request): void {
    const refuse = (reason: string, rpc: number, kind = 'server-request'): void => {
      this.dropped(kind, { reason, method: m.method.slice(0, 200) });
      this.sendServer({ jsonrpc: '2.0', id: m.id, error: { code: rpc, message: `MESSAGE_INVALID: ${reason}`, data: { code: 'MESSAGE_INVALID' } } });
    };
    if (!SERVER_REQUEST_METHODS.has(m.method)) return refuse('the server sent a request that is not one an MCP server sends its host', -32601);
    if (typeof m.id === 'string' && m.id.length > MAX_SERVER_ID_LENGTH) return refuse(`the server sent a request id longer than ${MAX_SERVER_ID_LENGTH} characters`, -32600);
    if (this.serverRequests.size >= MAX_SERVER_REQUESTS) return refuse(`more than ${MAX_SERVER_REQUESTS} server requests are waiting for the host`, -32603);
    const params = m.params;
    let message = m.message;
    if (m.method === 'sampling/createMessage' && params?.tools !== undefined) {
      const checked = this.check.sampling(params);
      if ('problem' in checked) return refuse(`the server offered the host's model a tool outside the pin in sampling/createMessage: ${checked.problem}`, -32602, 'server-sampling-tools');
      message = { ...message, params: checked.params };
    }
    const proxyId = this.serverRequests.issue(m.id);
    const text = message === m.message && m.wire ? withId(m.wire, proxyId) : undefined;
    if (text !== undefined) return this.options.toHost(text);
    this.sendHost({ ...message, id: proxyId });
  }

  /**
   * An input_required result's sampling requests with the tools they offer the model checked
   * against the pin ({@link ToolsCheck.sampling}) and in their pinned forms; the same result when
   * none offers any.
   */
  private pinnedInputRequests(result: Obj): { result: Obj } | { problem: string } {
    const requests = result.inputRequests;
    if (typeof requests !== 'object' || requests === null) return { result };
    let out: Obj | undefined;
    for (const key in requests as Obj) {
      const request = (requests as Obj)[key] as Obj;
      const params = request.params as Obj | undefined;
      if (request.method !== 'sampling/createMessage' || params?.tools === undefined) continue;
      const checked = this.check.sampling(params);
      if ('problem' in checked) return checked;
      out ??= { ...(requests as Obj) };
      out[key] = { ...request, params: checked.params };
    }
    return out === undefined ? { result } : { result: { ...result, inputRequests: out } };
  }

  /** The server cancelled a request of its own: the host hears it under the id it knows, or not at all. */
  private serverCancelled(message: Obj): void {
    // A subscription id it carries is held to the rule of every server notification: an
    // outstanding listen's, passed on as the host's id; any other drops it (before anything is
    // forgotten).
    const notice = this.withHostSubscription(message);
    if (notice === undefined) return this.droppedSubscription('notifications/cancelled');
    const params = notice.params as Obj | undefined;
    const proxyId = this.serverRequests.cancel(params?.requestId);
    if (proxyId !== undefined) return this.sendHost({ ...notice, params: { ...params, requestId: proxyId } });
    // The server's end of a host's subscriptions/listen (how a listen ends on stdio): the host
    // hears it under its own id, and the listen is forgotten. Any other is dropped.
    const entry = this.ids.peek(params?.requestId);
    if (entry?.origin === 'host' && !entry.cancelled && entry.method === 'subscriptions/listen') {
      this.ids.take(params!.requestId);
      return this.sendHost({ ...notice, params: { ...params, requestId: entry.hostId } });
    }
    this.dropped('server-cancelled', { reason: 'the server cancelled a request that is neither one of its own waiting for the host nor a subscriptions/listen of the host’s', method: 'notifications/cancelled' });
  }

  /**
   * Open state, a result read by the hot path: what `serverMessage` and `deliver` do with it,
   * without the parsed value, when it answers an outstanding host request and passes deliver's
   * checks as they stand: not a listing, an opening result or a listen's end (checked against the
   * pin, or rewritten); for a `tools/call`, a plain CallToolResult of text blocks for a tool
   * without an outputSchema (what callResultProblem passes; any other result goes to it); no
   * `resultType` (a result that may not be complete goes to inputRequiredProblem), no
   * `inputRequests` (checked wherever they ride) and no `ttlMs` (capped by deliver); no `_meta` when
   * the manifest pins the server's identity. Its own text goes to the host, under the host's id.
   * False, and nothing done, for anything else, which then takes the full path.
   */
  private deliverHot(m: Extract<Hot, { kind: 'answer' }>): boolean {
    const entry = this.ids.peek(m.id);
    if (entry?.origin !== 'host' || CHECKED_RESULTS.has(entry.method) || this.opening?.proxyId === m.id) return false;
    if (entry.tool !== undefined && (!m.callResult || this.check.hasOutputSchema(entry.tool))) return false;
    if (m.resultType || m.input || m.cache || (m.meta && this.identity.pinned !== undefined)) return false;
    this.ids.take(m.id);
    if (!entry.cancelled) this.options.toHost(withId(m.wire, entry.hostId)!);
    return true;
  }

  private holdServer(m: Classified, size: number): void {
    if (this.heldServer.length >= MAX_HELD || this.heldServerBytes + size > MAX_HELD_BYTES) return this.refuse('HELD_LIMIT', { reason: `the server sent more than ${MAX_HELD} messages or ${MAX_HELD_BYTES} bytes before its tools were checked`, details: {} });
    this.heldServerBytes += size;
    this.heldServer.push({ m, size });
  }

  /**
   * Checks a server answer to a host request and forwards it under the host's own id. `tool` is the
   * pinned tool whose result this is (a `tools/call`, or a `tasks/result` for the task `task` it started).
   */
  private deliver(hostId: JsonRpcId, method: string, m: Response, tool?: string, task?: string): void {
    // An answer forwarded unchanged: its own text under the host's id, when that text is what
    // JSON.stringify would write for it and it has no member beside jsonrpc, id and result or error
    // (classify saw those three). Same content as the object built below, and the same bytes when
    // the server wrote the keys in that order; a server that wrote them in another order (`id`
    // first, say) is forwarded in its own order, which JSON-RPC gives no meaning.
    const asIs = (): boolean => {
      const text = m.wire && m.wire.members === 3 ? withId(m.wire, hostId) : undefined;
      if (text !== undefined) this.options.toHost(text);
      return text !== undefined;
    };
    const opening = method === 'initialize' || method === 'server/discover';
    let result = m.result;
    // A task's result is answered once (tasks/result); a result still asking for input is not the end.
    if (method === 'tasks/result' && task !== undefined && (result === undefined || result.resultType === undefined || result.resultType === 'complete')) this.tasks.delete(task);
    if (m.error || result === undefined) {
      if (!asIs()) this.sendHost({ jsonrpc: '2.0', id: hostId, error: m.error });
      return;
    }
    // Every result that is not `complete` is checked first, whatever the method (a listing, a
    // listen's end, an opening and a tool result included); then every tools/call result (and a
    // task's, through tasks/result), a listing, a listen's end, an opening's instructions and
    // identity, and every result's `_meta` identity below: a faster reading of answers must keep
    // them all (test/guard-open.test.ts asserts on each).
    // A complete result may carry input requests too (a 2026-07-28 task's tasks/get asks the host
    // for input so): the same checks, whatever the method.
    const incomplete = result.resultType !== undefined && result.resultType !== 'complete';
    if (incomplete || result.inputRequests !== undefined) {
      // An opening asks the host for nothing; one that is not complete would skip its own checks.
      // `resultType` is of revision 2026-07-28: a 2025 host would read the result as complete.
      let problem = opening ? 'an opening result is always complete and asks for no input' : !incomplete ? inputRequestsProblem(result.inputRequests) : this.era !== 'modern' ? 'a 2025 session has no results that are not complete' : inputRequiredProblem(result);
      if (!problem) {
        const checked = this.pinnedInputRequests(result);
        if ('problem' in checked) problem = `one of its inputRequests offers the host's model a tool outside the pin: ${checked.problem}`;
        else result = checked.result;
      }
      if (problem) {
        this.options.log({ level: 'warn', event: 'sigil.run.refused-result', code: 'RESULT_INVALID', server: this.options.manifest.name, method, reason: `the server answered ${method} with a result that is not complete and not a valid input_required: ${problem}` });
        return this.answerHost(hostId, 'RESULT_INVALID', `the server answered ${method} with an input_required result that cannot be checked (details in the sigil run log)`);
      }
    }
    if (method === 'tools/list') {
      // A valid input_required listing may carry no tools yet; any tools it carries are checked.
      if (result.resultType === undefined || result.resultType === 'complete' || result.tools !== undefined) {
        const checked = this.check.page(result.tools);
        if ('drift' in checked) {
          this.refuse('TOOL_DRIFT', checked.drift);
          return this.answerHost(hostId, 'TOOL_DRIFT', this.refusal!.reason);
        }
        // Only the members of a listing go on (text a server adds beside them reaches no host).
        result = cacheable(listingMembers(result, checked.tools));
      } else result = cacheable(listingMembers(result, undefined));
    } else if (method === 'tasks/list') {
      // Tasks a pinned tool's call started in this session, each with a task's own members: no
      // result or input request rides in a listing past the checks tasks/get and tasks/result get.
      const tasks = Array.isArray(result.tasks) ? (result.tasks as unknown[]).filter((t): t is Obj => isObj(t) && typeof t.taskId === 'string' && this.tasks.has(t.taskId)).map(taskStatus) : [];
      result = { ...result, tasks };
    } else if (method === 'subscriptions/listen') {
      // Its end carries the subscription id (the proxy id it travelled under): the host's own goes back.
      const meta = result._meta;
      if (typeof meta === 'object' && meta !== null && (meta as Obj)[META.subscriptionId] !== undefined) result = { ...result, _meta: { ...meta, [META.subscriptionId]: hostId } };
    } else if (tool !== undefined && method !== 'tools/call' && method !== 'tasks/result') {
      // A task's status (tasks/get, tasks/cancel, tasks/update); a 2026-07-28 one carries the
      // tool's result once the task is done (`result`), checked as the call's own.
      let problem = result.result === undefined ? undefined : !isObj(result.result) ? 'the result it carries is not an object' : (callResultProblem(result.result, this.check.hasOutputSchema(tool), this.era === 'modern' ? 'modern' : 'legacy', 'tasks/result') ?? this.output.problem(tool, result.result.structuredContent));
      // The result it carries may ask for input itself: its requests are checked as any result's.
      if (!problem && isObj(result.result) && result.result.inputRequests !== undefined) {
        problem = inputRequestsProblem(result.result.inputRequests);
        const checked = problem ? undefined : this.pinnedInputRequests(result.result);
        if (checked && 'problem' in checked) problem = `one of the inputRequests of the result it carries offers the host's model a tool outside the pin: ${checked.problem}`;
        else if (checked && checked.result !== result.result) result = { ...result, result: checked.result };
      }
      if (problem) {
        this.options.log({ level: 'warn', event: 'sigil.run.refused-result', code: 'RESULT_INVALID', server: this.options.manifest.name, tool, reason: `the server answered ${method} with a task whose result is not a CallToolResult: ${problem}` });
        return this.answerHost(hostId, 'RESULT_INVALID', `the server answered ${method} for a call of ${tool} with a result that is not a CallToolResult (details in the sigil run log)`);
      }
    } else if (tool !== undefined) {
      let problem = callResultProblem(result, this.check.hasOutputSchema(tool), this.era === 'modern' ? 'modern' : 'legacy', method === 'tasks/result' ? 'tasks/result' : 'tools/call') ?? this.output.problem(tool, result.structuredContent);
      // A task id names one call: a server that gives a running task's id to another tool's call
      // would have that call's result checked as the other tool's.
      if (!problem && method === 'tools/call' && result.task !== undefined && !this.rememberTask((result.task as Obj).taskId as string, tool)) problem = 'its task id is the id of a task another tool started';
      if (problem) {
        this.options.log({ level: 'warn', event: 'sigil.run.refused-result', code: 'RESULT_INVALID', server: this.options.manifest.name, tool, reason: `the server answered ${method} with a result that is not a CallToolResult: ${problem}` });
        return this.answerHost(hostId, 'RESULT_INVALID', `the server answered the call of ${tool} with a result that is not a CallToolResult (details in the sigil run log)`);
      }
    } else if (opening) {
      const checked = this.checkOpening(method, result);
      if ('drift' in checked) {
        this.refuse('TOOL_DRIFT', checked.drift);
        return this.answerHost(hostId, 'TOOL_DRIFT', this.refusal!.reason);
      }
      result = cacheable(checked.result);
    }
    // A modern result may name the server in its `_meta`: checked only when the manifest pins a name.
    if (this.identity.pinned !== undefined && result._meta !== undefined && !opening) {
      const checked = this.identity.stamped(result);
      if ('drift' in checked) {
        this.refuse('TOOL_DRIFT', checked.drift);
        return this.answerHost(hostId, 'TOOL_DRIFT', this.refusal!.reason);
      }
      result = checked.result;
    }
    // Every modern result a host may keep (a prompt or resource listing as well as the tools) is
    // kept at most MAX_CACHE_TTL_MS, so a host asks again, and is answered through the checks. A
    // task's `ttlMs` is how long the task lives, not a cache time, and stays as the server said.
    if (!method.startsWith('tasks/')) result = cacheable(result);
    if (result === m.result && asIs()) return;
    this.sendHost({ jsonrpc: '2.0', id: hostId, result });
  }

  /** A task a pinned tool's call started: its `tasks/result` is checked as that tool's result. False when another tool's task holds that id. */
  private rememberTask(taskId: string, tool: string): boolean {
    const held = this.tasks.get(taskId);
    if (held !== undefined && held !== tool) return false;
    this.tasks.delete(taskId);
    if (this.tasks.size >= MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
    this.tasks.set(taskId, tool);
    return true;
  }

  /** The server answered the opening exchange: check the instructions, then every tool. */
  private openingAnswered(answer: Answer): void {
    // A session that ended stays ended: the proxy's own discover, still outstanding when the session
    // was refused or the server went away, is settled with an error by endWaiting, which must not
    // read as a refused opening (that would start the session over, and re-send what was held).
    if (this.state === 'closed') return;
    const host = this.opening?.host;
    if (answer.error || !answer.result) {
      // The server refused the opening (a 2025-only server answering `server/discover`): pass the
      // refusal on, so the host can fall back, and wait for another opening.
      // Told to the request that made the proxy discover (other requests held before it wait on),
      // unless that one was answered already (HELD_LIMIT, when the held queue was full).
      const trigger = this.opening?.trigger;
      const held = host ? undefined : this.heldHost.find((h) => h.m === trigger);
      const askedBy = host ?? (held?.m as Request | undefined);
      // Logged whether or not a host request is told (sigil.run.opening-refused).
      const error = answer.timedOut ? { code: -32001, message: `the server did not answer the opening request within ${this.options.checkTimeoutMs} ms` } : this.openingRefusal(answer.error);
      if (askedBy) {
        if (held) {
          this.heldHost = this.heldHost.filter((h) => h !== held);
          this.heldHostBytes -= held.size;
        }
        this.sendHost({ jsonrpc: '2.0', id: askedBy.id, error });
      }
      this.state = 'starting';
      this.era = undefined;
      this.opening = undefined;
      for (const h of this.takeHeldHost()) this.hostMessage(h.m, h.size);
      return;
    }
    // A discover result the 2.x client would not read as one (it then falls back to initialize) is
    // no modern opening: taken as a refusal, so the host falls back through the proxy too.
    if (this.era === 'modern' && !isDiscoverResult(answer.result)) return this.openingAnswered({ error: { code: -32603, message: 'the server answered server/discover with a result that is not a discover result (supportedVersions a list of strings, capabilities an object)' } });
    this.opening!.answered = true;
    // An opening asks the host for nothing: one that is not complete would reach the host unchecked.
    const { resultType } = answer.result;
    if (resultType !== undefined && resultType !== 'complete') return this.refuse('MESSAGE_INVALID', { reason: 'the server answered the opening request with a result that is not complete', details: { resultType: typeof resultType === 'string' ? resultType.slice(0, 200) : null } });
    if (answer.result.inputRequests !== undefined) return this.refuse('MESSAGE_INVALID', { reason: 'the server answered the opening request with input requests (an opening asks the host for nothing)', details: {} });
    const checked = this.checkOpening(this.era === 'legacy' ? 'initialize' : 'server/discover', answer.result);
    if ('drift' in checked) return this.refuse('TOOL_DRIFT', checked.drift);
    if (this.era === 'legacy') {
      this.sendServer({ jsonrpc: '2.0', method: 'notifications/initialized' });
      this.dropHostInitialized = true;
    }
    const result = cacheable(checked.result);
    void this.verifyTools(result.instructions as string | undefined).then((ok) => {
      if (!ok) return;
      // `missing`: pinned tools left out, under the policy's `liveTools: "pinned-subset"` only.
      this.options.log({ level: 'info', event: 'sigil.run.verified', server: this.options.manifest.name, version: this.options.manifest.version, tools: this.listed.tools, ...(this.listed.missing.length ? { pinned: this.options.manifest.tools.length, missing: this.listed.missing } : {}), era: this.era });
      this.opening = undefined;
      if (host) this.sendHost({ jsonrpc: '2.0', id: host.id, result });
      this.openUp();
    });
  }

  /** The instructions and the server's identity in an `initialize` or `server/discover` result; the result to forward. */
  private checkOpening(method: string, result: Obj): { result: Obj } | { drift: Drift } {
    const drift = this.check.instructions(result);
    return drift ? { drift } : this.identity.opening(method, result);
  }

  /**
   * The error the host gets when the server refused the opening. The firewall is not open, so no
   * server text goes through: the code (a host falls back on it), a fixed sentence, and for
   * `-32022` (unsupported protocol version) only the version strings a modern host negotiates
   * with. The server's own message and data go to the log.
   */
  private openingRefusal(error: Obj | undefined): Obj {
    const code = typeof error?.code === 'number' && Number.isInteger(error.code) ? error.code : -32603;
    this.options.log({ level: 'warn', event: 'sigil.run.opening-refused', server: this.options.manifest.name, code, error: error ?? null });
    const out: Obj = { code, message: `the server refused the opening request with error ${code} (its message is in the sigil run log)` };
    const data = error?.data as Obj | undefined;
    if (code === -32022 && typeof data === 'object' && data !== null) {
      // Protocol versions are dates (`2025-06-18`): nothing else a server writes there goes on.
      const version = (x: unknown): x is string => typeof x === 'string' && PROTOCOL_VERSION.test(x);
      const kept: Obj = {};
      if (Array.isArray(data.supported)) kept.supported = data.supported.filter(version).slice(0, MAX_OFFERED_VERSIONS);
      if (version(data.requested)) kept.requested = data.requested;
      out.data = kept;
    }
    return out;
  }

  /** `tools/list_changed`: hold everything, list and compare again, then pass the notice on. */
  private recheck(notice: Obj): void {
    this.state = 'verifying';
    this.options.log({ level: 'info', event: 'sigil.run.recheck', server: this.options.manifest.name });
    void this.verifyTools(this.options.manifest.instructions).then((ok) => {
      if (!ok) return;
      // The notice as MCP defines it (params: only `_meta`): whatever else the server wrote in it
      // (a tool list of its own, say) reaches no host.
      const params = notice.params as Obj | undefined;
      const meta = typeof params === 'object' && params !== null ? protocolMeta(params._meta) : undefined;
      const out = this.withHostSubscription({ jsonrpc: '2.0', method: notice.method, ...(meta === undefined ? {} : { params: { _meta: meta } }) });
      if (out === undefined) this.droppedSubscription('notifications/tools/list_changed');
      else this.sendHost(out);
      this.openUp();
    });
  }

  /** Lists every page of tools with the proxy's own requests and compares the whole set. */
  private async verifyTools(instructions: string | undefined): Promise<boolean> {
    let deadline: NodeJS.Timeout | undefined;
    const ms = this.options.checkDeadlineMs ?? 60_000;
    const late = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`the listing took longer than ${ms} ms`)), ms);
      this.timers.add(deadline);
    });
    const soFar: Tool[] = [];
    const names = new Set<unknown>();
    try {
      const listing = collectToolPages(async (cursor) => {
        const params: Obj = { ...(cursor === undefined ? {} : { cursor }), ...(this.era === 'modern' ? { _meta: this.envelope } : {}) };
        const answer = await new Promise<Answer>((settle) => this.ask('tools/list', params, settle));
        if (answer.error || !answer.result) throw new Error(`the server answered tools/list with ${JSON.stringify(answer.error ?? null).slice(0, 200)}`);
        // Each page is checked as it comes: a tool outside the pin (or changed) refuses the session
        // at once, so what the listing holds is never more than the pinned tools and one page.
        // A tool listed again (a cursor loop, say) is compared on its own: the whole check and the
        // paging loop name what is wrong with the listing then.
        if (Array.isArray(answer.result.tools)) {
          const again: Tool[] = [];
          for (const live of answer.result.tools as unknown[]) {
            if (!isObj(live)) continue;
            const tool = normalizeTool(live).tool;
            if (names.has(tool.name)) again.push(tool);
            else {
              names.add(tool.name);
              soFar.push(tool);
            }
          }
          const drift = this.check.partial(soFar) ?? (again.length > 0 ? this.check.partial(again) : undefined);
          if (drift) throw new PageDrift(drift);
        }
        return answer.result as { tools: unknown; nextCursor?: unknown };
      });
      // The listing goes on in the background after the deadline; the refusal below ends what it waits on.
      listing.catch(() => undefined);
      const { tools } = await Promise.race([listing, late]);
      if (this.state === 'closed') return false;
      const checked = this.check.whole(tools, instructions);
      if ('drift' in checked) {
        this.refuse('TOOL_DRIFT', checked.drift);
        return false;
      }
      this.listed = { tools: tools.length, missing: checked.missing };
      return true;
    } catch (e) {
      this.refuse('TOOL_DRIFT', e instanceof PageDrift ? e.drift : { reason: `the tools could not be checked: ${(e as Error).message}`, details: {} });
      return false;
    } finally {
      clearTimeout(deadline);
      this.timers.delete(deadline!);
    }
  }

  private openUp(): void {
    if (this.state === 'closed') return;
    this.state = 'open';
    // In order; a held message that starts a re-check makes the rest wait again.
    const server = this.heldServer;
    this.heldServer = [];
    this.heldServerBytes = 0;
    for (const h of server) this.serverMessage(h.m as Exclude<Classified, { kind: 'batch' | 'invalid' }>, h.size);
    for (const h of this.takeHeldHost()) this.hostMessage(h.m, h.size);
    const notice = this.pendingListChanged;
    if (notice !== undefined && this.state === 'open') {
      this.pendingListChanged = undefined;
      this.recheck(notice);
    }
    this.settled();
  }

  /**
   * Runs `then` once no tools check runs: at once, or when the check opens the session (after the
   * host messages it held went on to the server, and any re-check they started ended too) or when
   * the session closes. A host whose input ends while its requests wait for the check (a script
   * piping its whole session in) leaves the server's input open until then, as the server's own
   * input would be, so those requests reach it and are answered.
   */
  afterVerifying(then: () => void): void {
    if (this.state === 'verifying') this.verifyingWaiters.push(then);
    else then();
  }

  private settled(): void {
    if (this.state === 'verifying') return;
    const waiters = this.verifyingWaiters;
    this.verifyingWaiters = [];
    for (const then of waiters) then();
  }

  /** Sends a request of the proxy's own; returns its id. */
  private ask(method: string, params: Obj, settle: (answer: Answer) => void): string {
    // A session that ended asks nothing more (a listing's next page, when the refusal came in the
    // same read as the page): nothing is sent, and no timer keeps the process waiting.
    if (this.state === 'closed') {
      queueMicrotask(() => settle({ error: { code: -32603, message: `the session ended before ${method} was asked` } }));
      return '';
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A slow server's late answer is then dropped quietly, not taken for drift; the server is told.
      if (!this.ids.abandon(id)) return;
      this.sendServer({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: `no answer within ${this.options.checkTimeoutMs} ms` } });
      settle({ error: { code: -32001, message: `no answer to ${method} within ${this.options.checkTimeoutMs} ms` }, timedOut: true });
    }, this.options.checkTimeoutMs);
    this.timers.add(timer);
    const id = this.ids.issue({
      origin: 'proxy',
      method,
      settle: (answer) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        settle(answer);
      },
    });
    this.sendServer({ jsonrpc: '2.0', id, method, params });
    return id;
  }

  /**
   * Logs a message the firewall dropped (`sigil.run.dropped`, MESSAGE_INVALID): of each kind (a
   * fixed name per rule, never peer text), the first {@link MAX_DROPPED_LOGS} of a session one line
   * each, then one line per {@link DROPPED_LOG_EVERY} more, with the count. A peer can send such
   * messages as fast as it writes, each a few dozen bytes, and a log line is several times that:
   * one each would let it grow the log (and, with a host that drains stderr slowly, this process's
   * memory) faster than it writes. Counted by kind, so a flood of one kind does not thin out the
   * log of another (a refused sampling tool after 100 junk requests is still logged).
   */
  private dropped(kind: string, fields: Obj): void {
    const n = (this.droppedCounts.get(kind) ?? 0) + 1;
    this.droppedCounts.set(kind, n);
    const over = n - MAX_DROPPED_LOGS;
    if (over > 0 && over % DROPPED_LOG_EVERY !== 0) return;
    const count = n < MAX_DROPPED_LOGS ? {} : { dropped: n, logged: `the first ${MAX_DROPPED_LOGS} dropped messages of this kind one line each, then one line per ${DROPPED_LOG_EVERY}` };
    this.options.log({ level: 'warn', event: 'sigil.run.dropped', code: 'MESSAGE_INVALID', server: this.options.manifest.name, kind, ...fields, ...count });
  }

  // ---- endings ------------------------------------------------------------------------------

  /**
   * Sigil refuses the session: one log line with the code, every waiting host request answered
   * with it, everything held from the server discarded, and the server stopped.
   */
  refuse(code: FirewallCode, drift: Drift): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const { manifest } = this.options;
    // The host hears a fixed sentence: the reason can quote server text (tool names, instructions),
    // which must not reach the host's model through an error message. The log has the details.
    const reason = `Sigil refused ${manifest.name}@${manifest.version}: ${REFUSED[code]} (details in the sigil run log)`;
    this.refusal = { code, reason };
    this.options.log({ level: 'error', event: 'sigil.run.refused', code, server: manifest.name, version: manifest.version, reason: drift.reason, ...drift.details });
    this.endWaiting(code, reason);
    this.options.onRefused(code);
    this.settled();
  }

  /** The server went away by itself: answer whatever waits on it, and every later host request. */
  serverGone(description: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.ended = { code: 'SERVER_UNREACHABLE', reason: description };
    this.endWaiting('SERVER_UNREACHABLE', description);
    this.settled();
  }

  /**
   * The server stopped reading while still running (its stdin closed: a write failed with EPIPE).
   * Nothing written to it since can be answered, and which of the requests before it read is
   * unknowable, so the session ends as if it had exited: every outstanding host request is
   * answered SERVER_UNREACHABLE, and so is every later one (guard-proxy.ts then stops the server).
   */
  serverInputClosed(): void {
    if (this.state === 'closed') return;
    this.options.log({ level: 'warn', event: 'sigil.run.server-input-closed', server: this.options.manifest.name, state: this.state });
    this.serverGone(`the server closed its input (stdin) in state ${this.state}`);
  }

  /** The server closed its output (stdout) while still running: as {@link Firewall.serverInputClosed}, nothing more can be answered. */
  serverOutputClosed(): void {
    if (this.state === 'closed') return;
    this.options.log({ level: 'warn', event: 'sigil.run.server-output-closed', server: this.options.manifest.name, state: this.state });
    this.serverGone(`the server closed its output (stdout) in state ${this.state}`);
  }

  private endWaiting(code: FirewallCode, reason: string): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.heldServer = [];
    this.heldServerBytes = 0;
    this.pendingListChanged = undefined;
    this.serverRequests.clear();
    // The host's opening request, answered by the server but held for the check.
    if (this.opening?.host && !this.ids.peek(this.opening.proxyId)) this.answerHost(this.opening.host.id, code, reason);
    this.opening = undefined;
    for (const entry of this.ids.drain()) {
      if (entry.origin === 'proxy') entry.settle({ error: { code: RPC[code], message: reason } });
      else if (!entry.cancelled) this.answerHost(entry.hostId, code, reason);
    }
    for (const { m } of this.takeHeldHost()) if (m.kind === 'request') this.answerHost(m.id, code, reason);
  }

  // ---- output -------------------------------------------------------------------------------

  /**
   * Rewrites the subscription id a server notification carries (the proxy id of an outstanding
   * `subscriptions/listen`) to the host's own. The same object when it carries none; `undefined`
   * (dropped) when it names anything else: an id the server chose could collide with one of the
   * host's, and the proxy id of another request is no subscription.
   */
  private withHostSubscription(message: Obj): Obj | undefined {
    const params = message.params as Obj | undefined;
    const meta = params?._meta as Obj | undefined;
    if (typeof meta !== 'object' || meta === null) return message;
    const subscription = meta[META.subscriptionId];
    if (subscription === undefined) return message;
    const entry = this.ids.peek(subscription);
    if (entry?.origin !== 'host' || entry.method !== 'subscriptions/listen') return undefined;
    return { ...message, params: { ...params, _meta: { ...meta, [META.subscriptionId]: entry.hostId } } };
  }

  private answerHost(id: JsonRpcId | null, code: FirewallCode, message: string, rpc: number = RPC[code], data: Obj = {}): void {
    this.sendHost({ jsonrpc: '2.0', id, error: { code: rpc, message: `${code}: ${message}`, data: { code, ...data } } });
  }

  private sendHost(message: Obj): void {
    this.options.toHost(JSON.stringify(message));
  }

  private sendServer(message: Obj): void {
    this.options.toServer(JSON.stringify(message));
  }

  /**
   * Forwards a message unchanged: its own text when that is exactly what JSON.stringify writes for
   * what was checked (parseStrict's wire), the serialised value otherwise; the same bytes either way.
   */
  private forwardHost(m: Exclude<Classified, { kind: 'batch' | 'invalid' }>): void {
    if (m.wire) this.options.toHost(m.wire.text);
    else this.sendHost(m.message);
  }

  private forwardServer(m: Exclude<Classified, { kind: 'batch' | 'invalid' }>): void {
    if (m.wire) this.options.toServer(m.wire.text);
    else this.sendServer(m.message);
  }
}

/**
 * The longest a host may keep a cacheable result (`ttlMs` of a modern `tools/list` or
 * `server/discover` answer) that passed through `sigil run`: 5 minutes. A server could otherwise
 * ask for days, and a host with a lasting cache would go on showing the descriptions and
 * instructions of a version revoked since; after the cap the host asks again, and the answer is
 * checked again (and a revoked version no longer starts at all).
 */
export const MAX_CACHE_TTL_MS = 300_000;

/** The members of a `tools/list` result (both eras; MCP 2026-07-28 adds the cache and input members), with `tools` the checked ones. */
const LISTING_MEMBERS = ['nextCursor', '_meta', 'ttlMs', 'cacheScope', 'resultType', 'inputRequests', 'requestState'] as const;

/** Listing members a result that is not complete may carry (the 2026-07-28 input members), and no complete one. */
const INPUT_MEMBERS: ReadonlySet<string> = new Set(['inputRequests', 'requestState']);
/** The `_meta` keys a listing keeps: MCP's own (`io.modelcontextprotocol/…`, the server's identity among them, checked after). */
const PROTOCOL_META = 'io.modelcontextprotocol/';

function listingMembers(result: Obj, tools: unknown): Obj {
  const out: Obj = tools === undefined ? {} : { tools };
  const complete = result.resultType === undefined || result.resultType === 'complete';
  for (const key of LISTING_MEMBERS) {
    if (result[key] === undefined || (complete && INPUT_MEMBERS.has(key))) continue;
    if (key !== '_meta') out[key] = result[key];
    else {
      const meta = protocolMeta(result._meta);
      if (meta !== undefined) out._meta = meta;
    }
  }
  return out;
}

/** MCP's own keys of a `_meta` (`io.modelcontextprotocol/…`), or undefined when it holds none. */
function protocolMeta(meta: unknown): Obj | undefined {
  if (!isObj(meta)) return undefined;
  const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => k.startsWith(PROTOCOL_META)));
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** A protocol version as MCP writes them (`YYYY-MM-DD`). */
const PROTOCOL_VERSION = /^\d{4}-\d{2}-\d{2}$/;
/** Versions of a `-32022` refusal passed to the host (a server supports a handful). */
const MAX_OFFERED_VERSIONS = 16;

/** The cache scopes of MCP 2026-07-28 (`cacheScope`): `private` keeps an answer to the one user's cache. */
const CACHE_SCOPES: ReadonlySet<unknown> = new Set(['public', 'private']);

/**
 * `result` as a host may cache it: its `ttlMs` at most {@link MAX_CACHE_TTL_MS} (0 when it is not
 * a number of 0 or more), and a `cacheScope` MCP does not have (free text a server put there, say)
 * as `private`, the narrower; the same object when both already are, or it has neither.
 */
function cacheable<T extends Record<string, unknown>>(result: T): T {
  const ttl = result.ttlMs;
  const ttlOk = ttl === undefined || (typeof ttl === 'number' && ttl >= 0 && ttl <= MAX_CACHE_TTL_MS);
  const scopeOk = result.cacheScope === undefined || CACHE_SCOPES.has(result.cacheScope);
  if (ttlOk && scopeOk) return result;
  return {
    ...result,
    ...(ttlOk ? {} : { ttlMs: typeof ttl === 'number' && ttl > MAX_CACHE_TTL_MS ? MAX_CACHE_TTL_MS : 0 }),
    ...(scopeOk ? {} : { cacheScope: 'private' }),
  };
}
