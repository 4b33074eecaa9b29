import { Finding } from '@sigil/manifest';
import { z } from 'zod';
import { fetchJson, ResolveError } from '@sigil/resolver';
import type { Context } from './context.js';
import { CliError, UsageError } from './errors.js';

/** Largest registry answer the CLI reads, and longest wait. */
const LIMITS = { maxBytes: 8 * 1024 * 1024, timeoutMs: 30_000 };

/** The registry base URL from --registry / SIGIL_REGISTRY, checked. */
export function registryBase(ctx: Context): string {
  const url = ctx.globals().registry;
  if (!url) throw new UsageError('give the registry with --registry <url> or SIGIL_REGISTRY');
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new UsageError(`${JSON.stringify(url)} is not an http(s) URL`);
  }
  return url.replace(/\/+$/, '');
}

/**
 * One call to the registry API with the caller's token, bounded in size and time. A problem+json
 * answer becomes a CliError with the registry's code and sentence (exit 1).
 */
export async function callRegistry<T = unknown>(ctx: Context, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const base = registryBase(ctx);
  let answer;
  try {
    answer = await fetchJson(`${base}${path}`, { method, ...(body !== undefined ? { body } : {}), ...(ctx.globals().token ? { token: ctx.globals().token } : {}) }, LIMITS);
  } catch (e) {
    if (e instanceof ResolveError) throw new CliError(e.code, e.message);
    throw e;
  }
  if (answer.status >= 400) {
    const problem = answer.json as { code?: string; detail?: string; findings?: unknown[] } | undefined;
    // Findings are data from the network: parsed, never cast; a malformed list is dropped, not printed.
    const parsed = z.array(Finding).max(1000).safeParse(problem?.findings ?? []);
    const findings = parsed.success ? parsed.data : [];
    throw new CliError(problem?.code ?? `HTTP_${answer.status}`, problem?.detail ?? `the registry answered HTTP ${answer.status}`, findings);
  }
  return { status: answer.status, body: answer.json as T };
}

/** `/v1/servers/{namespace}/{name}/versions/{version}` for a reference. */
export function versionPath(name: string, version: string): string {
  const slash = name.indexOf('/');
  return `/v1/servers/${encodeURIComponent(name.slice(0, slash))}/${encodeURIComponent(name.slice(slash + 1))}/versions/${encodeURIComponent(version)}`;
}
