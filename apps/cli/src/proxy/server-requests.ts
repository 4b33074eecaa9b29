import { randomBytes } from 'node:crypto';
import type { JsonRpcId } from './message.js';
import { SeqTable } from './seq-table.js';

/**
 * The notifications an MCP server sends its host (2025-03-26 to 2026-07-28, as the official SDKs
 * define them). Any other (a client's own, `notifications/initialized`; one of a later revision or
 * an extension, `notifications/tasks`, whose payload the firewall cannot check) is dropped: a
 * notification the proxy cannot name is one it cannot check. `tools/list_changed` starts a re-check.
 */
export const SERVER_NOTIFICATION_METHODS: ReadonlySet<string> = new Set([
  'notifications/cancelled',
  'notifications/progress',
  'notifications/message',
  'notifications/resources/updated',
  'notifications/resources/list_changed',
  'notifications/prompts/list_changed',
  'notifications/tools/list_changed',
  'notifications/tasks/status',
  'notifications/elicitation/complete',
  'notifications/subscriptions/acknowledged',
]);

/** The members of a task's status (MCP 2025-11-25 `Task`): a `notifications/tasks/status` carries these only. */
const TASK_STATUS_MEMBERS: readonly string[] = ['taskId', 'status', 'statusMessage', 'createdAt', 'lastUpdatedAt', 'ttl', 'pollInterval', '_meta'];

/** A task's status with a task's own members only: no result or input request rides in it. */
export function taskStatus(task: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(TASK_STATUS_MEMBERS.filter((k) => task[k] !== undefined).map((k) => [k, task[k]]));
}

/**
 * Requests an MCP server may send to its host (MCP 2025-11-25, "Client features", and the tasks a
 * host runs for it). Anything else the server asks is answered `-32601` by the proxy and never
 * reaches the host: a host that answers whatever it is asked (a hand-written one, say) must not be
 * made to run a `tools/call` of the server's choosing.
 */
export const SERVER_REQUEST_METHODS: ReadonlySet<string> = new Set(['ping', 'sampling/createMessage', 'elicitation/create', 'roots/list', 'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel']);

/** Most server requests waiting for the host's answer at once. */
export const MAX_SERVER_REQUESTS = 1024;
/**
 * Longest server request id kept while the host answers (characters): each is held until then, and
 * 1,024 ids of nearly 8 MiB each (the line limit) would hold gigabytes.
 */
export const MAX_SERVER_ID_LENGTH = 256;

/**
 * Id mapping in the other direction: a server request reaches the host under an id the proxy chose
 * (`sigil-s-<nonce>-<n>`, never a number), and the host's answer goes back under the server's own
 * id only when it names exactly an outstanding one. The host never sees an id the server chose, so
 * a server request cannot collide with the host's own pending requests (a hand-written host keeping
 * one table for both), and no host answer can be taken for another.
 */
export class ServerRequests {
  private readonly prefix = `sigil-s-${randomBytes(6).toString('hex')}-`;
  private seq = 0;
  private readonly byProxy = new SeqTable<JsonRpcId>();
  /**
   * The latest outstanding request under each server id, so a cancellation is one lookup: a scan
   * per `notifications/cancelled` let a server flooding them for ids not outstanding cost the
   * proxy tens of times its own effort with 1,024 long ids waiting. A server that reuses an id
   * still outstanding has only the latest one cancellable.
   */
  private readonly latest = new Map<JsonRpcId, number>();

  get size(): number {
    return this.byProxy.size;
  }

  /** The id the host sees for a server request. */
  issue(serverId: JsonRpcId): string {
    this.byProxy.set(++this.seq, serverId);
    this.latest.set(serverId, this.seq);
    return this.prefix + this.seq;
  }

  /** The server's own id for an exact proxy id the host answered, removed; `undefined` for anything else. */
  take(id: unknown): JsonRpcId | undefined {
    if (typeof id !== 'string' || !id.startsWith(this.prefix) || id.length > this.prefix.length + 16) return undefined;
    const digits = id.slice(this.prefix.length);
    const seq = Number(digits);
    if (!Number.isSafeInteger(seq) || String(seq) !== digits) return undefined;
    const serverId = this.byProxy.get(seq);
    if (serverId === undefined) return undefined;
    this.byProxy.delete(seq);
    if (this.latest.get(serverId) === seq) this.latest.delete(serverId);
    return serverId;
  }

  /**
   * The server cancelled one of its requests: the proxy id the host knows it by (the latest
   * outstanding one with that server id), removed, so a late answer from the host goes nowhere.
   */
  cancel(serverId: unknown): string | undefined {
    if (typeof serverId !== 'string' && typeof serverId !== 'number') return undefined;
    const found = this.latest.get(serverId);
    if (found === undefined) return undefined;
    this.latest.delete(serverId);
    this.byProxy.delete(found);
    return this.prefix + found;
  }

  clear(): void {
    this.byProxy.clear();
    this.latest.clear();
  }
}
