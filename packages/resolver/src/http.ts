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
}

/**
 * One bounded HTTP exchange with the registry: the body is read incrementally and abandoned past
 * `maxBytes` (`RESPONSE_TOO_LARGE`); the whole exchange is aborted after `timeoutMs`, and any
 * network failure is `REGISTRY_UNREACHABLE`. Never follows redirects.
 */
export async function fetchJson(url: string, init: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; body?: unknown; token?: string; name?: string }, limits: FetchLimits = DEFAULT_FETCH_LIMITS): Promise<JsonResponse> {
  const name = init.name ?? '';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        redirect: 'error',
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
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      json = bytes.byteLength && !scanJson(text, MAX_DEPTH).some((f) => f.severity === 'error') ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, bytes, json };
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(name: string, url: string, why: string, cause: unknown): ResolveError {
  return ResolveError.of(name, 'REGISTRY_UNREACHABLE', `the registry at ${new URL(url).origin} could not be reached: ${why}`, undefined, cause);
}
