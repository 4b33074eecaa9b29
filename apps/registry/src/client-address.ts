import { BlockList, isIP } from 'node:net';

/**
 * Which addresses may speak for a client in `X-Forwarded-For`: the reverse proxies named in
 * `SIGIL_TRUSTED_PROXIES` (CIDRs or single addresses). Nobody else: a header from any other
 * peer is the client's own claim and is ignored.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const problem = cidrProblem(cidr);
      if (problem) throw new Error(problem);
      const [address, prefix] = cidr.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
    this.size = cidrs.length;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const v4 = mappedIpv4(address);
    if (v4) return this.list.check(v4, 'ipv4') || this.list.check(address, 'ipv6');
    const family = isIP(address);
    return family === 4 ? this.list.check(address, 'ipv4') : family === 6 ? this.list.check(address, 'ipv6') : false;
  }
}

/** Why `cidr` is not an address or `address/prefix`, or undefined when it is one. */
export function cidrProblem(cidr: string): string | undefined {
  const [address = '', prefix, extra] = cidr.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `${JSON.stringify(cidr)} is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))) return `${JSON.stringify(cidr)} has a prefix length outside 0-${family === 4 ? 32 : 128}`;
  return undefined;
}

/**
 * The address a request's rate limit is keyed on. The socket peer is the client unless it is a
 * trusted proxy; then the `X-Forwarded-For` hops are read from the right (each trusted proxy
 * appends the address it saw), and the right-most hop that is not itself a trusted proxy is the
 * client. Hops left of it were written by the client and are never believed. IPv6 clients are
 * keyed per /64, the block one subscriber usually holds.
 */
export function clientKey(socketAddress: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let client = socketAddress;
  if (client && forwardedFor !== undefined && trusted.has(client)) {
    const hops = forwardedFor.split(',').map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      // An entry that is not an address: key on the proxy that passed it on.
      if (isIP(hop) === 0) break;
      client = hop;
      if (!trusted.has(hop)) break;
    }
  }
  return client ? addressKey(client) : 'unknown';
}

/** An IPv4 address as is; an IPv6 address as its /64 (`2001:db8:1:2::/64`). */
export function addressKey(address: string): string {
  const v4 = mappedIpv4(address);
  if (v4) return v4;
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

function mappedIpv4(address: string): string | undefined {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m && isIP(m[1]!) === 4 ? m[1] : undefined;
}

/** The eight hextets of an IPv6 address, lower case, without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address.split('%')[0]!.toLowerCase();
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...(rest === undefined ? [] : zeros), ...right].map((h) => parseInt(h, 16).toString(16));
}
