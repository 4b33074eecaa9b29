import type { ChildProcess } from 'node:child_process';
import { Client, ProtocolError, SdkError, SdkErrorCode, SdkHttpError, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Tool } from '@sigil/manifest';
import { collectToolPages, ResolveError } from '@sigil/resolver';
import { z } from 'zod';
import { type BodyTooLargeError, cappedFetch } from './capped-fetch.js';
import { CliError } from './errors.js';
import { inOwnProcessGroup } from './process-group.js';

/** A `tools/list` page as the server wrote it: every field kept, for collectToolPages to check and normalizeTool to sort. */
const LISTING = z.looseObject({ tools: z.unknown(), nextCursor: z.unknown().optional() });

/** A stdio command, or a URL: streamable HTTP, or the older HTTP+SSE transport (`sse`, which `introspect` falls back to by itself). */
export type ServerTarget = { command: string; args: string[] } | { url: string; sse?: boolean };

export interface Introspection {
  /** The identity the server gave (`undefined` when a modern server gave none: it is a SHOULD there). */
  serverInfo: { name: string; version: string; title?: string } | undefined;
  instructions: string | undefined;
  tools: Tool[];
  /** Tool fields outside the manifest format that were left out, as `tool.field`. */
  dropped: string[];
  /** For a URL: the transport the server answered on (`sse`: the HTTP+SSE transport of MCP 2024-11-05). */
  remote?: 'streamable-http' | 'sse';
  /** The protocol era and revision the server spoke: `modern` when it answered `server/discover`. */
  protocol: { era: 'legacy' | 'modern'; version: string | undefined };
  /**
   * Set when a stdio server read in the 2025 era had its era probe run for all the time it may
   * take (`limitMs`) or longer (`ms`, the probe's process stopped included): it may not have
   * answered `server/discover` in time, or answered and was slow to stop.
   */
  probeRanOut?: { ms: number; limitMs: number };
}

/**
 * The client capabilities `manifest init --capable-host` declares: every one a host may declare
 * (roots, sampling, form and URL elicitation, and tasks for both). Servers register some tools only
 * for hosts that declare a capability (server-everything's `trigger-sampling-request` needs
 * `sampling`, `get-roots-list` needs `roots`), so the tools a host is shown depend on what it
 * declares, and the live check is exact (docs/resolver.md): a manifest pins what one kind of host
 * is shown. By default that is a host declaring nothing (as the SDKs' clients do unless told);
 * with `--capable-host`, one declaring everything (VS Code, say), which a bare host then is not.
 */
export const HOST_CAPABILITIES = {
  roots: { listChanged: true },
  sampling: { context: {}, tools: {} },
  elicitation: { form: {}, url: {} },
  tasks: { list: {}, cancel: {}, requests: { sampling: { createMessage: {} }, elicitation: { create: {} } } },
};

/** Most bytes of a child's stderr kept for the error message. */
const STDERR_TAIL = 4096;

/** Longest a stdio server/discover probe waits (half of --timeout up to this). */
const STDIO_PROBE_MAX_MS = 15_000;

/** Largest HTTP response body init reads: the 2.x client's stdio read buffer (10 MiB), the same bound over HTTP. */
const MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Connects to a real MCP server (a child over stdio, or a URL: streamable HTTP, falling back to
 * the older HTTP+SSE transport on a 4xx as MCP says), probes it with
 * `server/discover` (MCP 2026-07-28) and falls back to the 2025 `initialize` handshake when it does
 * not offer the modern era, reads every page of `tools/list`, and disconnects. The whole exchange is bounded by
 * `timeoutMs`; the child is closed on every path, success or failure.
 */
export async function introspect(target: ServerTarget, timeoutMs: number, env: NodeJS.ProcessEnv = process.env, capableHost = false): Promise<Introspection> {
  // 'auto': server/discover first, the 2025 handshake when the server does not offer 2026-07-28. On
  // stdio the SDK probes on a short-lived sibling of the server (the server is started twice), so
  // a server that exits on an unknown first request is simply a 2025 server; and a probe that times
  // out there falls back to the 2025 era too, so it gets half the time (a 2025 server that ignores
  // the request costs no more), and init says when it ran out. Over HTTP a probe that times out is
  // the end (the SDK does not fall back), so it gets all of it.
  const probeMs = 'url' in target ? timeoutMs : Math.max(100, Math.min(STDIO_PROBE_MAX_MS, Math.floor(timeoutMs / 2)));
  const client = new Client({ name: 'sigil', version: '0.1.0' }, { capabilities: capableHost ? HOST_CAPABILITIES : {}, versionNegotiation: { mode: 'auto', probe: { timeoutMs: probeMs } } });
  if (capableHost) {
    // Declared, so answered, harmlessly: no roots, no sampling, every elicitation declined.
    client.setRequestHandler('roots/list', () => ({ roots: [] }));
    client.setRequestHandler('sampling/createMessage', () => {
      throw new Error('sigil manifest init does not sample');
    });
    client.setRequestHandler('elicitation/create', () => ({ action: 'decline' as const }));
  }
  let stderrTail = '';
  let tooLarge: BodyTooLargeError | undefined;
  const connectingAt = Date.now();
  /** On stdio, how long the era probe took (until the session's own server was started). */
  let probedMs: number | undefined;
  let transport: Transport;
  if ('url' in target) {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new CliError('URL_INVALID', `${JSON.stringify(target.url)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('URL_INVALID', `the URL must be http or https, not ${url.protocol}`);
    const fetch = cappedFetch(MAX_HTTP_BODY_BYTES, (e) => {
      tooLarge ??= e;
      // The end: an event stream cut at the cap would otherwise be opened again (the SDK
      // reconnects), and read to the cap again, until --timeout.
      controller.abort(e);
    });
    transport = target.sse ? new SSEClientTransport(url, { fetch }) : new StreamableHTTPClientTransport(url, { fetch });
  } else {
    const stdio = new StdioClientTransport({
      // In a process group of its own, so closing stops a server started through npx too, not only npx.
      ...inOwnProcessGroup(target.command, target.args),
      // The SDK passes only a few "safe" variables by default; the person running init expects
      // the server to see their environment (API keys, config), as when they run it themselves.
      env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
      stderr: 'pipe',
    });
    stdio.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    // The SDK starts this transport once the probe (on a sibling) has its verdict.
    closePipesOnExit(stdio, () => {
      probedMs = Date.now() - connectingAt;
    });
    transport = stdio;
  }

  // The transport's own errors (a message over the SDK's 10 MiB read buffer closes the connection,
  // which the pending request only sees as "Connection closed"): the first one names the cause.
  // And the first message it could not read as JSON-RPC (a schema error, with its issues), apart:
  // other transport errors (an optional event stream the server does not offer) say nothing of
  // what the server wrote.
  let transportError: Error | undefined;
  let unreadable: string | undefined;
  client.onerror = (e: Error) => {
    transportError ??= e;
    unreadable ??= schemaIssues(e);
  };
  const controller = new AbortController();
  const deadline = Date.now() + timeoutMs;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const remaining = () => Math.max(1, deadline - Date.now());
  const where = 'url' in target ? target.url : [target.command, ...target.args].join(' ');
  // Which request a JSON-RPC error answered, for the message.
  let asking = 'the opening (server/discover or initialize)';
  try {
    await client.connect(transport, { signal: controller.signal, timeout: remaining() });
    asking = 'tools/list';
    const serverInfo = client.getServerVersion();
    const instructions = client.getInstructions();
    // Page by page with the client's plain request, not listTools(): a 2.x client's listTools() walks
    // every page itself (silently stopping where a cursor repeats with the same page), so the
    // shared helper's bounds (pages, tools, cursor loops and lengths) would never see the pages.
    // Read with a loose schema, not the method's own: the SDK's would strip the fields a tool has
    // outside MCP's format before normalizeTool sees them, and `manifest init` says which it left
    // out (docs/manifest.md). The shared helper checks the shape itself.
    const { tools, dropped } = await collectToolPages((cursor) => client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, LISTING, { signal: controller.signal, timeout: remaining() }));
    const protocol = { era: client.getProtocolEra() ?? 'legacy', version: client.getNegotiatedProtocolVersion() };
    const remote = 'url' in target ? { remote: target.sse ? ('sse' as const) : ('streamable-http' as const) } : {};
    // A stdio probe that ran for all its time may have timed out (the SDK then reads the server in
    // the 2025 era); the time counts the probe's process being stopped too, so it may also have
    // answered at once and been slow to stop: the note says what is known.
    const probeTimedOut = protocol.era === 'legacy' && probedMs !== undefined && probedMs >= probeMs ? { probeRanOut: { ms: probedMs, limitMs: probeMs } } : {};
    return { serverInfo: serverInfo && { name: serverInfo.name, version: serverInfo.version, ...(serverInfo.title !== undefined ? { title: serverInfo.title } : {}) }, instructions, tools, dropped, protocol, ...remote, ...probeTimedOut };
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    // A server of the older HTTP+SSE transport answers the streamable-HTTP POST with a 4xx (404 or
    // 405): as MCP's backwards-compatibility section says, try a GET for its event stream instead.
    // Not on 401 or 403, which are about credentials.
    const status = cause instanceof SdkHttpError ? (cause.data as { status?: unknown } | undefined)?.status : undefined;
    const olderTransport = 'url' in target && !target.sse && typeof status === 'number' && status >= 400 && status < 500 && status !== 401 && status !== 403;
    if (!olderTransport) throw failure(cause);
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => undefined);
    // Client.close() closes the transport it holds; closing ours too covers a failed connect.
    await transport.close().catch(() => undefined);
  }
  // Only the fall back to HTTP+SSE gets here, within what is left of the same time.
  return introspect({ url: (target as { url: string }).url, sse: true }, remaining(), env, capableHost);

  function failure(outer: unknown): Error {
    // The era probe wraps what went wrong with the first request (a login page, JSON that is not
    // JSON-RPC) in an error of its own: the inner one says what the server did.
    let cause = outer;
    for (let depth = 0; depth < 4 && cause instanceof SdkError && cause.code === SdkErrorCode.EraNegotiationFailed && cause.cause !== undefined; depth++) cause = cause.cause;
    if (cause instanceof ResolveError) return new CliError('SERVER_INVALID', cause.message, [], 1, { cause });
    if ((transportError && /ReadBuffer exceeded/i.test(transportError.message)) || tooLarge) {
      return new CliError('SERVER_INVALID', `the MCP server at ${where} sent a message larger than the client reads (10 MiB)`, [], 1, { cause });
    }
    // An answer that is not the method's result (the SDK checks each against MCP's schema).
    if (cause instanceof SdkError && cause.code === SdkErrorCode.InvalidResult) {
      const method = /^Invalid result for ([^:\s]+):/.exec(cause.message)?.[1];
      return new CliError('SERVER_INVALID', `the MCP server at ${where} answered ${method ?? asking} with a result that is not valid MCP: ${issuesText(cause.message.replace(/^Invalid result for [^:]*: /, ''))}`, [], 1, { cause });
    }
    // A message that is not JSON-RPC at all (the SDK's schema refused it; its error lists the issues).
    const issues = schemaIssues(cause);
    if (issues !== undefined) return new CliError('SERVER_INVALID', `the MCP server at ${where} sent a message that is not JSON-RPC: ${issues}`, [], 1, { cause });
    // An HTTP answer that is neither JSON nor an event stream (a proxy's login page, say).
    if (cause instanceof SdkError && cause.code === SdkErrorCode.ClientHttpUnexpectedContent) {
      return new CliError('SERVER_INVALID', `the MCP server at ${where} answered with ${excerpt(String((cause.data as { contentType?: unknown } | undefined)?.contentType ?? 'no content type'))}, not MCP (application/json or text/event-stream)`, [], 1, { cause });
    }
    // The server is there and answered, with an error: say so, rather than "could not introspect: fetch
    // failed", which reads as Sigil's own failure (@supabase/mcp-server-supabase fetches its tools).
    if (cause instanceof ProtocolError) {
      return new CliError('SERVER_ERROR', `the MCP server at ${where} answered ${asking} with error ${cause.code}: ${cause.message.replace(/^MCP error -?\d+: /, '')}${detail(stderrTail)}`, [], 1, { cause });
    }
    const timedOut = controller.signal.aborted || /timed out|timeout/i.test(String((cause as Error)?.message));
    // No answer in time, but messages the client could not read (a line that is not JSON-RPC, say):
    // the server spoke, not MCP. The SDK skips such a message and waits on, as a host does, so a
    // server that only prints a banner before it answers is still read.
    if (timedOut && unreadable !== undefined) {
      return new CliError('SERVER_INVALID', `the MCP server at ${where} gave no valid answer within ${timeoutMs} ms; it wrote a message that is not MCP: ${unreadable}${detail(stderrTail)}`, [], 1, { cause });
    }
    if (timedOut) return new CliError('SERVER_TIMEOUT', `the MCP server at ${where} did not answer within ${timeoutMs} ms${detail(stderrTail)}`, [], 1, { cause });
    return new CliError('SERVER_UNREACHABLE', `could not introspect the MCP server at ${where}: ${(cause as Error)?.message ?? String(cause)}${detail(stderrTail)}`, [], 1, { cause });
  }
}

/** Once the server's process has exited, how long its pipes are read after the last read brought something, and at most. */
const PIPE_DRAIN_MS = 100;
const PIPE_DRAIN_MAX_MS = 2000;

/**
 * Closes sigil's ends of the server's pipes once the process it started (the launcher) has exited.
 * The SDK's stdio transport waits for them to close ('close'), which they never do while a helper
 * the server started in a session of its own (setsid, out of reach of any group signal) holds
 * them: `manifest init` had its answer, then waited out the helper's whole life. Its connection
 * now ends as it ends when the server exits alone, without waiting for the helper. The SDK keeps
 * the process private (`_process`, set by `start()`): it is read there, and
 * test/cli-manifest.test.ts fails if it cannot be. `onStart` is called as the SDK starts it.
 */
function closePipesOnExit(stdio: StdioClientTransport, onStart: () => void): void {
  const start = stdio.start.bind(stdio);
  stdio.start = async () => {
    onStart();
    await start();
    const child = (stdio as unknown as { _process?: ChildProcess })._process;
    child?.once('exit', () => {
      // Read on while the pipe still brings something (what the server wrote before it exited),
      // then close: PIPE_DRAIN_MS after the last read, at most PIPE_DRAIN_MAX_MS after the exit (a
      // helper writing on forever does not hold init).
      const deadline = Date.now() + PIPE_DRAIN_MAX_MS;
      let timer: NodeJS.Timeout | undefined;
      const close = (): void => {
        child.stdout?.off('data', later);
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      function later(): void {
        clearTimeout(timer);
        timer = setTimeout(close, Math.max(0, Math.min(PIPE_DRAIN_MS, deadline - Date.now())));
        timer.unref();
      }
      child.stdout?.on('data', later);
      later();
    });
  };
}

/** At most 300 characters of a message, on one line. */
function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * A schema's issues as the SDK words them (zod's, as JSON) in one line: each issue's path and
 * message (the first three); the text itself when it holds no issue list. An issue of a union
 * (JSON-RPC's message kinds) is named by the union, not by each of its branches.
 */
export function issuesText(text: string): string {
  try {
    const issues = z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).min(1).parse(JSON.parse(text));
    const shown = issues.slice(0, 3).map((i) => `${i.path.length > 0 ? i.path.join('.') : 'the message'}: ${i.message}`);
    return excerpt(`${shown.join('; ')}${issues.length > 3 ? `; and ${issues.length - 3} more` : ''}`);
  } catch {
    return excerpt(text);
  }
}

/** A schema error's issues in one line ({@link issuesText}); `undefined` for any other error. */
function schemaIssues(error: unknown): string | undefined {
  const issues = (error as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) ? issuesText(JSON.stringify(issues)) : undefined;
}

/** The last lines the server wrote to stderr, for an error message. */
function detail(stderrTail: string): string {
  return stderrTail.trim() ? `; the server said: ${stderrTail.trim().split('\n').slice(-5).join(' | ')}` : '';
}
