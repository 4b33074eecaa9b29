import { scanJson } from '@sigil/manifest';
import { ResolveError } from './errors.js';

/** Deepest JSON nesting accepted in a registry answer (checked before parsing). */
const MAX_DEPTH = 64;

export interface FetchLimits {
  /** Largest response body accepted, in bytes. */
  maxBytes: number;
  /** Longest wait for the whole exchange, headers and body, in milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxBytes: 2 * 1024 * 1024, timeoutMs: 10_000 };

export interface JsonResponse {
  status: number;
  /** The exact bytes received (verify these, then parse). */
  bytes: Uint8Array;
  json: unknown;
  /**
   * Why `json` is undefined for a body that is not empty, phrased to follow "the answer …": not
   * UTF-8, not JSON, a key given twice (named, with where it is) or nesting past the bound.
   */
  problem?: string;
  /** The registry's `x-request-id` header, to quote in refusals. */
  requestId?: string;
}

/**
 * One bounded HTTP exchange with the registry: the body is read incrementally and abandoned past
 * `maxBytes` (`RESPONSE_TOO_LARGE`); the whole exchange is aborted after `timeoutMs`, and any
 * network failure is `REGISTRY_UNREACHABLE`. Never follows redirects: a 3xx is returned as the
 * answer it is (and refused by the caller like any other unexpected status).
 */
/** Plain http to a host that is not a loopback name or address (where a token would travel in clear text). */
function clearToHost(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false; // fetch refuses it on its own
  }
  return u.protocol === 'http:' && !LOOPBACK.test(u.hostname);
}
const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export async function fetchJson(url: string, init: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; body?: unknown; token?: string; name?: string }, limits: FetchLimits = DEFAULT_FETCH_LIMITS): Promise<JsonResponse> {
  const name = init.name ?? '';
  // A bearer token over plain http can be read, and replayed, by anyone on the path: only to
  // this machine's loopback, never elsewhere (the registry's own rule for the URLs it names).
  if (init.token && clearToHost(url)) {
    throw ResolveError.of(name, 'TOKEN_INSECURE', `${url.split('?')[0]} is plain http to another machine: the token would travel in clear text, so nothing was sent; use the registry's https URL (http is for localhost and loopback addresses only)`);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        // Not followed (the token would go with it to whatever origin it names), and not an
        // error either: fetch turns 'error' into a network failure, and a network failure may
        // fall back to the stored status. A 3xx is an answer; callers refuse it as REGISTRY_ERROR.
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          accept: 'application/json',
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch (e) {
      throw unreachable(name, url, controller.signal.aborted ? `no answer within ${limits.timeoutMs} ms` : (e as Error).message, e);
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      controller.abort();
      throw ResolveError.of(name, 'RESPONSE_TOO_LARGE', `the registry's answer from ${url} declares ${declared} bytes; the limit is ${limits.maxBytes}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      const reader = response.body?.getReader();
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limits.maxBytes) {
          controller.abort();
          await reader.cancel().catch(() => undefined);
          throw ResolveError.of(name, 'RESPONSE_TOO_LARGE', `the registry's answer from ${url} is larger than ${limits.maxBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      throw unreachable(name, url, controller.signal.aborted ? `the answer did not complete within ${limits.timeoutMs} ms` : (e as Error).message, e);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const c of chunks) {
      bytes.set(c, offset);
      offset += c.byteLength;
    }
    let json: unknown = undefined;
    let problem: string | undefined;
    if (bytes.byteLength) {
      let text: string | undefined;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        problem = 'is not UTF-8';
      }
      // The scan that guards the parse names what it refuses: a duplicate key (which JSON.parse
      // would settle by keeping the last) or nesting past the bound.
      const finding = text === undefined ? undefined : scanJson(text, MAX_DEPTH).find((f) => f.severity === 'error');
      if (finding) problem = `is refused at ${finding.path === '' ? '/' : finding.path}: ${finding.message}`;
      else if (text !== undefined) {
        try {
          json = JSON.parse(text);
        } catch {
          problem = 'is not JSON';
        }
      }
    }
    const requestId = response.headers.get('x-request-id')?.slice(0, 64);
    return { status: response.status, bytes, json, ...(problem ? { problem } : {}), ...(requestId ? { requestId } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The refusal for an HTTP answer other than the one expected. An answer is never "unreachable":
 * the registry (or whoever answers in its name) said something, and a host must not treat it as
 * a network failure that may fall back to a cached status (a man in the middle, an exhausted rate
 * limit or an expired token would then keep a revoked version alive). 401 `UNAUTHENTICATED`,
 * 403 `FORBIDDEN`, 429 `RATE_LIMITED`, anything else `REGISTRY_ERROR`; the registry's problem
 * code and request id are quoted in the sentence and kept in `details`.
 */
export function httpRefusal(name: string, url: string, response: Pick<JsonResponse, 'status' | 'json' | 'requestId'>): ResolveError {
  const problem = response.json && typeof response.json === 'object' && !Array.isArray(response.json) ? (response.json as { code?: unknown; requestId?: unknown }) : {};
  const clean = (v: unknown): string | undefined => (typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(v) ? v : undefined);
  const problemCode = clean(problem.code);
  const requestId = clean(problem.requestId) ?? clean(response.requestId);
  const code = response.status === 401 ? 'UNAUTHENTICATED' : response.status === 403 ? 'FORBIDDEN' : response.status === 429 ? 'RATE_LIMITED' : 'REGISTRY_ERROR';
  const why =
    code === 'UNAUTHENTICATED'
      ? 'the token is missing, expired or revoked'
      : code === 'FORBIDDEN'
        ? 'the token may not read this'
        : code === 'RATE_LIMITED'
          ? 'too many requests'
          : 'the registry failed or answered unexpectedly';
  const facts = [problemCode ? `code ${problemCode}` : undefined, requestId ? `request ${requestId}` : undefined].filter(Boolean).join(', ');
  return ResolveError.of(name, code, `${new URL(url).origin}${new URL(url).pathname} answered HTTP ${response.status}${facts ? ` (${facts})` : ''}: ${why}; no cached status is used in its place`, {
    status: response.status,
    ...(problemCode ? { problemCode } : {}),
    ...(requestId ? { requestId } : {}),
  });
}

function unreachable(name: string, url: string, why: string, cause: unknown): ResolveError {
  return ResolveError.of(name, 'REGISTRY_UNREACHABLE', `the registry at ${new URL(url).origin} could not be reached: ${why}`, undefined, cause);
}
