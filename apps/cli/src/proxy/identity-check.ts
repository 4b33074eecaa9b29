import { pinnedServerInfo, serverInfoDrift, type Manifest, type PinnedServerInfo } from '@sigil/manifest';
import type { Drift } from './tools-check.js';

/** Where a 2026-07-28 result carries the server's identity (a SHOULD on every result since spec PR #3002). */
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';

type Obj = Record<string, unknown>;

/**
 * The server's identity check: when the manifest pins a `serverInfo` (recorded by `sigil manifest
 * init`), the name, version and title the live server gives must be those. A modern client files
 * its cached results under `name@version`: a server that named itself as another could read that
 * server's shared cache entries and fill them with its own. Only the pinned fields reach the host
 * (a description or icons the server adds are left out, as for tools).
 */
export class IdentityCheck {
  readonly pinned: PinnedServerInfo | undefined;

  constructor(manifest: Manifest) {
    this.pinned = pinnedServerInfo(manifest);
  }

  /**
   * Checks the identity in an opening result (`initialize`: `serverInfo`, required by the 2025
   * schema, and `_meta` when present; `server/discover`: `_meta`, optional) and returns the result
   * to forward, with only the pinned identity in it.
   */
  opening(method: string, result: Obj): { result: Obj } | { drift: Drift } {
    if (!this.pinned) return { result };
    if (method === 'initialize') {
      const problem = serverInfoDrift(this.pinned, result.serverInfo);
      if (problem) return { drift: this.drift(problem, result.serverInfo) };
      // A result of either era may name the server in `_meta` as well (a dual-era server stamps
      // every result): that claim is held to the pin too, or it would reach the host unchecked.
      return this.stamped({ ...result, serverInfo: { ...this.pinned } });
    }
    return this.stamped(result);
  }

  /**
   * Checks the identity a modern result may carry in `_meta` (any result, not only the opening):
   * absent is no claim; present, it must be the pinned one, and only the pinned fields go on.
   * The same object back when there is nothing to check (the hot path's common case).
   */
  stamped(result: Obj): { result: Obj } | { drift: Drift } {
    const meta = result._meta;
    if (!this.pinned || typeof meta !== 'object' || meta === null) return { result };
    const live = (meta as Obj)[SERVER_INFO_META];
    if (live === undefined) return { result };
    const problem = serverInfoDrift(this.pinned, live);
    if (problem) return { drift: this.drift(problem, live) };
    const same = Object.keys(live as Obj).length === Object.keys(this.pinned).length;
    return same ? { result } : { result: { ...result, _meta: { ...meta, [SERVER_INFO_META]: { ...this.pinned } } } };
  }

  private drift(reason: string, live: unknown): Drift {
    return { reason, details: { serverInfo: { pinned: this.pinned, live: live ?? null } } };
  }
}
