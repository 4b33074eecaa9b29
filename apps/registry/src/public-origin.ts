import type { TrustedProxies } from './client-address.js';

/**
 * The origin the registry names in the URLs it answers (the v0.1 API's `record` and `statusUrl`):
 * `SIGIL_PUBLIC_URL` when it is set, whatever the request says. Without it, the request's own
 * Host, and https when the socket is TLS or when a trusted proxy (`SIGIL_TRUSTED_PROXIES`) says
 * `X-Forwarded-Proto: https`; that header from any other peer is the client's own claim and is
 * ignored. Behind a proxy, set `SIGIL_PUBLIC_URL`: a Host header is the client's to choose
 * (docs/deploy.md, "Behind a reverse proxy").
 */
export function publicOrigin(
  configured: string | undefined,
  trusted: TrustedProxies,
  peer: { address: string | undefined; encrypted: boolean },
  host: string,
  forwardedProto: string | undefined,
): string {
  if (configured !== undefined) return configured;
  return new URL(`${publicScheme(trusted, peer, forwardedProto)}://${host}`).origin;
}

/** The scheme of {@link publicOrigin} without `SIGIL_PUBLIC_URL`: https on TLS, or when a trusted proxy says so. */
export function publicScheme(trusted: TrustedProxies, peer: { address: string | undefined; encrypted: boolean }, forwardedProto: string | undefined): 'http' | 'https' {
  const https = peer.encrypted || (forwardedProto !== undefined && peer.address !== undefined && trusted.has(peer.address) && lastHop(forwardedProto) === 'https');
  return https ? 'https' : 'http';
}

/** The value the nearest proxy wrote: the last of a comma-separated list, trimmed and lower-cased. */
function lastHop(value: string): string {
  const comma = value.lastIndexOf(',');
  return value.slice(comma + 1).trim().toLowerCase();
}

/**
 * Why `url` cannot be the registry's public URL, or undefined: an http(s) origin with nothing
 * after it (no path but `/`, no query, fragment or user info), https unless the host is a
 * loopback name or address, since hosts send their tokens to the URLs built from it.
 */
export function publicUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'an absolute URL, such as https://registry.example';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'an http or https URL';
  if (u.username || u.password || u.search || u.hash || u.pathname !== '/' || url.includes('?') || url.includes('#')) return 'an origin only: scheme, host and port, no path, query, fragment or user info';
  if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) return 'https (http only for localhost or a loopback address): hosts send their tokens to URLs built from it';
  return undefined;
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;
