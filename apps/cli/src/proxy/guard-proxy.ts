import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { LIMITS, normalizeTool, toolDigest, type Manifest } from '@sigil/manifest';
import { compareLiveTools, driftSentence, type LiveTools } from '@sigil/resolver';
import { onLines } from './lines.js';

/** Largest single JSON-RPC message accepted in either direction. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Most tools/list pages the proxy reads itself. */
const MAX_PAGES = 64;

export interface GuardProxyOptions {
  /** The pinned, verified manifest the server must match. */
  manifest: Manifest;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Host side: messages from the host, and where to write messages to it. */
  input: Readable;
  output: Writable;
  /** One structured log line (stderr in `sigil run`). */
  log: (event: Record<string, unknown>) => void;
  /** Longest wait for the server during a tools check (default 30 s). */
  checkTimeoutMs?: number;
}

type JsonRpc = { jsonrpc?: string; id?: string | number | null; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };
type State = 'starting' | 'verifying' | 'open' | 'checking' | 'drifted' | 'closed';

/** JSON-RPC error codes used for refusals (implementation-defined server-error range). */
const ERROR = { drift: -32001, notPinned: -32002, tooLarge: -32003, unavailable: -32004 } as const;

/**
 * The `sigil run` proxy: stands between an MCP host and a stdio server and lets nothing through
 * until the server's `initialize` instructions and every page of `tools/list` match the pinned
 * manifest. Afterwards every message passes unchanged in both directions, except:
 * - a `tools/call` for a tool outside the pinned manifest is answered with an error and never
 *   reaches the server;
 * - every `tools/list` answer the host receives is checked tool by tool against the pin;
 * - on `notifications/tools/list_changed` the proxy re-lists and re-checks before forwarding,
 *   holding the host's messages meanwhile.
 * On drift it stops the server, answers the host with `TOOL_DRIFT` errors, and logs the diff.
 * Resolves with the exit code once the host has gone and the child is cleaned up.
 */
export function runGuardProxy(options: GuardProxyOptions): Promise<number> {
  const { manifest, output, log } = options;
  const checkTimeoutMs = options.checkTimeoutMs ?? 30_000;
  const pinned = new Map(manifest.tools.map((t) => [t.name, toolDigest(t)]));
  const nonce = randomBytes(6).toString('hex');
  let seq = 0;
  let state: State = 'starting';
  let held: string[] = []; // host lines waiting for a check to finish
  let initializeId: JsonRpc['id'];
  let heldInitialize: string | undefined;
  const hostToolsListIds = new Set<string>();
  const ours = new Map<string, { resolve: (m: JsonRpc) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  const child: ChildProcess = spawn(options.command, [...options.args], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'inherit'] });

  return new Promise<number>((resolveExit) => {
    let exitCode = 0;
    let finished = false;
    const toHost = (message: unknown): void => {
      if (state !== 'closed') output.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    };
    const toServer = (message: unknown): void => {
      if (child.stdin?.writable) child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    };
    const errorTo = (id: JsonRpc['id'], code: number, name: string, message: string, data?: Record<string, unknown>): void => {
      if (id === undefined) return; // a notification gets no answer
      toHost({ jsonrpc: '2.0', id, error: { code, message: `${name}: ${message}`, data: { code: name, ...data } } });
    };

    const stopChild = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const term = setTimeout(() => child.kill('SIGTERM'), 1000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      term.unref();
      kill.unref();
      child.once('exit', () => {
        clearTimeout(term);
        clearTimeout(kill);
      });
    };

    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      exitCode = code;
      for (const pending of ours.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error('the server went away'));
      }
      ours.clear();
      stopChild();
      const done = (): void => {
        state = 'closed';
        output.end?.();
        resolveExit(exitCode);
      };
      if (child.exitCode !== null || child.signalCode !== null) done();
      else child.once('exit', done);
    };

    const drift = (reason: string, details: Record<string, unknown>): void => {
      state = 'drifted';
      log({ level: 'error', event: 'sigil.run.refused', code: 'TOOL_DRIFT', server: manifest.name, version: manifest.version, reason, ...details });
      stopChild();
      if (heldInitialize !== undefined || initializeId !== undefined) {
        errorTo(initializeId, ERROR.drift, 'TOOL_DRIFT', reason, details);
        initializeId = undefined;
        heldInitialize = undefined;
      }
      for (const line of held) refuseHostLine(line, reason);
      held = [];
      exitCode = 1;
    };

    const refuseHostLine = (line: string, reason: string): void => {
      const message = parse(line);
      for (const m of Array.isArray(message) ? message : [message]) {
        if (m && typeof m === 'object' && (m as JsonRpc).method !== undefined) errorTo((m as JsonRpc).id, ERROR.drift, 'TOOL_DRIFT', reason);
      }
    };

    /** Sends one request of our own to the server and waits for its answer. */
    const ask = (method: string, params: Record<string, unknown>): Promise<JsonRpc> => {
      const id = `sigil-guard-${nonce}-${++seq}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          ours.delete(id);
          reject(new Error(`the server did not answer ${method} within ${checkTimeoutMs} ms`));
        }, checkTimeoutMs);
        ours.set(id, { resolve, reject, timer });
        toServer({ jsonrpc: '2.0', id, method, params });
      });
    };

    /** Lists every page of tools from the server and compares them with the pin. */
    const checkTools = async (instructions: string | undefined): Promise<boolean> => {
      try {
        const tools = [];
        let cursor: string | undefined;
        for (let page = 0; ; page++) {
          if (page >= MAX_PAGES) throw new Error(`the server returned more than ${MAX_PAGES} pages of tools`);
          const answer = await ask('tools/list', cursor === undefined ? {} : { cursor });
          if (answer.error !== undefined || !Array.isArray(answer.result?.tools)) throw new Error(`the server answered tools/list with ${JSON.stringify(answer.error ?? answer.result).slice(0, 200)}`);
          tools.push(...(answer.result.tools as Array<Record<string, unknown>>).map((t) => normalizeTool(t).tool));
          if (tools.length > LIMITS.tools) break;
          const next = answer.result.nextCursor;
          cursor = typeof next === 'string' ? next : undefined;
          if (cursor === undefined) break;
        }
        const live: LiveTools = { instructions, tools };
        const found = compareLiveTools(manifest, live);
        if (!found) return true;
        drift(driftSentence(found.diff, found.instructions !== undefined), { diff: found.diff, ...(found.instructions ? { instructions: found.instructions } : {}) });
        return false;
      } catch (e) {
        drift(`the tools could not be checked: ${(e as Error).message}`, {});
        return false;
      }
    };

    const open = (): void => {
      state = 'open';
      const queued = held;
      held = [];
      for (const line of queued) fromHost(line);
    };

    /** Checks one host message; answers refusals itself and returns whether to forward it. */
    const admit = (m: JsonRpc): boolean => {
      if (m.method === 'tools/call') {
        const name = m.params?.name;
        if (typeof name !== 'string' || !pinned.has(name)) {
          log({ level: 'warn', event: 'sigil.run.refused', code: 'TOOL_NOT_PINNED', server: manifest.name, tool: typeof name === 'string' ? name : null });
          errorTo(m.id, ERROR.notPinned, 'TOOL_NOT_PINNED', `the tool ${JSON.stringify(name)} is not in the pinned manifest of ${manifest.name}@${manifest.version}`);
          return false;
        }
      }
      if (m.method === 'tools/list' && m.id !== undefined && m.id !== null) hostToolsListIds.add(JSON.stringify(m.id));
      if (m.method === 'notifications/initialized' && state !== 'starting') return false; // already sent by the proxy
      return true;
    };

    const fromHost = (line: string): void => {
      if (state === 'drifted') return refuseHostLine(line, 'the server was stopped after its tools drifted from the pinned manifest');
      if (state === 'closed') return;
      const message = parse(line);
      if (state === 'starting') {
        const m = message as JsonRpc;
        if (m && typeof m === 'object' && !Array.isArray(m) && m.method === 'initialize') {
          state = 'verifying';
          initializeId = m.id;
          toServer(line);
        } else held.push(line);
        return;
      }
      if (state === 'verifying' || state === 'checking') {
        held.push(line);
        return;
      }
      if (Array.isArray(message)) {
        // A batch is forwarded only if every member is admitted; refused members are answered.
        const admitted = message.map((m) => (m && typeof m === 'object' ? admit(m as JsonRpc) : true));
        if (admitted.every(Boolean)) toServer(line);
        else for (const [i, m] of message.entries()) if (admitted[i]) errorTo((m as JsonRpc).id, ERROR.notPinned, 'TOOL_NOT_PINNED', 'the batch holds a call to a tool outside the pinned manifest');
        return;
      }
      if (message && typeof message === 'object' && !admit(message as JsonRpc)) return;
      toServer(line); // unchanged, byte for byte
    };

    const fromServer = (line: string): void => {
      if (state === 'drifted' || state === 'closed') return;
      const message = parse(line);
      const m = (message && typeof message === 'object' && !Array.isArray(message) ? message : {}) as JsonRpc;
      if (typeof m.id === 'string' && ours.has(m.id) && m.method === undefined) {
        const pending = ours.get(m.id)!;
        ours.delete(m.id);
        clearTimeout(pending.timer);
        pending.resolve(m);
        return;
      }
      if (state === 'verifying' && m.method === undefined && m.id !== undefined && JSON.stringify(m.id) === JSON.stringify(initializeId)) {
        if (m.error !== undefined) {
          toHost(line); // the server refused to initialize: nothing to verify
          return;
        }
        heldInitialize = line;
        toServer({ jsonrpc: '2.0', method: 'notifications/initialized' });
        const instructions = typeof m.result?.instructions === 'string' ? m.result.instructions : undefined;
        void checkTools(instructions).then((ok) => {
          if (!ok) return;
          const response = heldInitialize!;
          heldInitialize = undefined;
          initializeId = undefined;
          log({ level: 'info', event: 'sigil.run.verified', server: manifest.name, version: manifest.version, tools: manifest.tools.length });
          toHost(response);
          open();
        });
        return;
      }
      if (m.method === 'notifications/tools/list_changed' && state === 'open') {
        state = 'checking';
        log({ level: 'info', event: 'sigil.run.recheck', server: manifest.name });
        void checkTools(manifest.instructions).then((ok) => {
          if (!ok) return;
          toHost(line);
          open();
        });
        return;
      }
      if (m.method === undefined && m.id !== undefined && hostToolsListIds.delete(JSON.stringify(m.id)) && Array.isArray(m.result?.tools)) {
        for (const raw of m.result.tools as Array<Record<string, unknown>>) {
          const tool = normalizeTool(raw).tool;
          if (pinned.get(tool.name) !== toolDigest(tool)) {
            const reason = pinned.has(tool.name) ? `the server listed a changed definition of ${tool.name}` : `the server listed ${tool.name}, which is not in the pinned manifest`;
            errorTo(m.id, ERROR.drift, 'TOOL_DRIFT', reason, { tool: tool.name });
            drift(reason, { tool: tool.name });
            return;
          }
        }
      }
      toHost(line);
    };

    onLines(options.input, MAX_MESSAGE_BYTES, fromHost, () => {
      log({ level: 'error', event: 'sigil.run.refused', code: 'MESSAGE_TOO_LARGE', from: 'host', limit: MAX_MESSAGE_BYTES });
    });
    onLines(child.stdout!, MAX_MESSAGE_BYTES, fromServer, () => {
      drift(`the server sent a message over ${MAX_MESSAGE_BYTES} bytes`, {});
    });
    options.input.on('end', () => finish(exitCode));
    child.on('error', (e) => {
      log({ level: 'error', event: 'sigil.run.failed', code: 'SERVER_UNREACHABLE', message: e.message });
      if (initializeId !== undefined) errorTo(initializeId, ERROR.unavailable, 'SERVER_UNREACHABLE', `the server could not be started: ${e.message}`);
      finish(1);
    });
    child.on('exit', (code, signal) => {
      if (state !== 'drifted' && !finished) {
        log({ level: state === 'open' ? 'info' : 'error', event: 'sigil.run.server-exit', code, signal });
        if (initializeId !== undefined) errorTo(initializeId, ERROR.unavailable, 'SERVER_UNREACHABLE', 'the server exited before its tools could be checked');
        finish(state === 'open' ? (code ?? 1) : 1);
      }
    });
  });
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
