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
  if (!url) throw new UsageError('no registry: set SIGIL_REGISTRY=<url> (e.g. http://127.0.0.1:8787) or pass --registry <url>');
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
  // Only a 2xx is a success: a redirect (never followed, so the token stays here) did nothing.
  if (answer.status >= 300 && answer.status < 400) {
    throw new CliError(`HTTP_${answer.status}`, `the registry answered HTTP ${answer.status}, a redirect, which is not followed (the token would go with it): nothing was done; check the registry URL`);
  }
  if (answer.status < 200 || answer.status >= 300) throw problemError(ctx, answer.status, answer.json, answer.requestId);
  return { status: answer.status, body: answer.json as T };
}

/** `/v1/servers/{namespace}/{name}/versions/{version}` for a reference. */
export function versionPath(name: string, version: string): string {
  const slash = name.indexOf('/');
  return `/v1/servers/${encodeURIComponent(name.slice(0, slash))}/${encodeURIComponent(name.slice(slash + 1))}/versions/${encodeURIComponent(version)}`;
}

/**
 * The registry's problem+json as a CLI refusal: its code, its sentence, its request id (always
 * printed, so people can quote it), and what to do where the registry's words are about HTTP.
 */
export function problemError(ctx: Context, status: number, json: unknown, headerRequestId?: string): CliError {
  const problem = (json ?? {}) as { code?: unknown; detail?: unknown; findings?: unknown; requestId?: unknown };
  // Findings are data from the network: parsed, never cast; a malformed list is dropped, not printed.
  const parsed = z.array(Finding).max(1000).safeParse(problem.findings ?? []);
  const findings = parsed.success ? parsed.data : [];
  // A code is an identifier (`NOT_FOUND`): anything else a registry sends there is not one.
  const code = typeof problem.code === 'string' ? (PROBLEM_CODE.test(problem.code) ? problem.code : 'RESPONSE_INVALID') : `HTTP_${status}`;
  let detail = typeof problem.detail === 'string' ? problem.detail : `the registry answered HTTP ${status}`;
  if (code === 'UNAUTHENTICATED') {
    detail = ctx.globals().token
      ? `the registry did not accept the token from SIGIL_TOKEN (or --token): it is malformed, unknown, expired or revoked; ask an admin for a new one (sigil token create) (${detail})`
      : 'this needs an API token: set SIGIL_TOKEN=<token> or pass --token <token> (an admin creates one with sigil token create)';
  } else if (code === 'INTERNAL') {
    detail = `${detail.replace(/;?\s*quote the request id.*$/i, '')}; quote the request id when you report it`;
  }
  // The body's id, else the x-request-id header (an answer that is not problem+json still has one).
  const requestId = typeof problem.requestId === 'string' ? problem.requestId : headerRequestId;
  return new CliError(code, detail, findings, 1, requestId ? { requestId: safeId(requestId) } : {});
}

const PROBLEM_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A request id as printed: short, and only characters that cannot drive a terminal. */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_.:-]/g, '?').slice(0, 64);
}
