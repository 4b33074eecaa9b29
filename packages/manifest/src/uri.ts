/**
 * URIs as RFC 3986 defines them (section 3 and Appendix A), the grammar the official server.json
 * schema names with `format: uri`: a scheme, `:`, and ASCII characters only (anything else
 * percent-encoded), with no spaces, `<`, `>`, `"`, `\`, `{`, `}`, `|`, `^` or backquote. WHATWG
 * URL parsing (`new URL()`) is far more lenient (it quietly encodes spaces and Unicode), so a URL
 * it takes may be refused by the official schema, and the other way round (an out-of-range port).
 */

const UNRESERVED = 'A-Za-z0-9\\-._~';
const SUB_DELIMS = "!$&'()*+,;=";
const PCT = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT})`;
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
const USERINFO = new RegExp(`^(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT})*$`);
const REG_NAME = new RegExp(`^(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT})*$`);
const PORT = /^[0-9]*$/;
const PATH = new RegExp(`^(?:${PCHAR}|/)*$`);
const QUERY_OR_FRAGMENT = new RegExp(`^(?:${PCHAR}|[/?])*$`);
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const H16 = /^[0-9A-Fa-f]{1,4}$/;
const IPVFUTURE = new RegExp(`^[vV][0-9A-Fa-f]+\\.[${UNRESERVED}${SUB_DELIMS}:]+$`);

/** RFC 3986 IPv6address: eight 16-bit groups (the last two may be an IPv4 address), `::` at most once. */
function isIpv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const group = all[i]!;
    if (i === all.length - 1 && IPV4.test(group)) count += 2;
    else if (H16.test(group)) count += 1;
    else return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

function isHost(host: string): boolean {
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return false;
    const literal = host.slice(1, -1);
    return isIpv6(literal) || IPVFUTURE.test(literal);
  }
  return REG_NAME.test(host);
}

/** The parts of an absolute URI, or undefined when `text` is not one (RFC 3986, `URI`). */
export function parseUri(text: string): { scheme: string; authority: string | undefined; badPort?: true } | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = text.slice(0, colon);
  if (!SCHEME.test(scheme)) return undefined;
  let rest = text.slice(colon + 1);
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(hash + 1))) return undefined;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  if (question >= 0) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(question + 1))) return undefined;
    rest = rest.slice(0, question);
  }
  let authority: string | undefined;
  let path = rest;
  if (rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    path = end < 0 ? '' : rest.slice(end);
    const at = authority.lastIndexOf('@');
    if (at >= 0 && !USERINFO.test(authority.slice(0, at))) return undefined;
    const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
    // The port follows the last ":" outside an IP literal.
    const close = hostPort.lastIndexOf(']');
    const portColon = hostPort.indexOf(':', close + 1);
    const host = portColon >= 0 ? hostPort.slice(0, portColon) : hostPort;
    if (portColon >= 0 && !PORT.test(hostPort.slice(portColon + 1))) return { scheme: scheme.toLowerCase(), authority, badPort: true };
    if (!isHost(host)) return undefined;
  } else if (path.startsWith('//')) return undefined;
  if (!PATH.test(path)) return undefined;
  return { scheme: scheme.toLowerCase(), authority };
}

/**
 * True when `text` is an absolute URI by RFC 3986, as the official schema's `format: uri`, with
 * a port of digits when it names one (ajv's `uri` format lets `https://host:port/` through; the
 * official registry's Go URL parser refuses it, as RFC 3986 does).
 */
export function isUri(text: string): boolean {
  const parsed = parseUri(text);
  return parsed !== undefined && !parsed.badPort;
}

/**
 * Why an http(s) URL's host is not one a reader can trust at a glance, or undefined when it is.
 * Stricter than RFC 3986 and the official schema: the host is there (not `https:evil.example/x`
 * or `https:///x`), not percent-encoded (`https://%00/`, `https://github.com%2Facme.evil.example/`:
 * DNS names are ASCII, internationalised ones punycode), and no userinfo precedes it
 * (`https://github.com@evil.example/` reads as github.com and opens evil.example). Template
 * variables (`{port}`) may stand after the host, as in a transport URL.
 */
export function httpHostProblem(text: string): string | undefined {
  const m = /^https?:\/\/([^/?#]*)/i.exec(text);
  if (!m) return 'an http(s) URL has "//" and a host after the scheme';
  const authority = m[1]!;
  if (authority.includes('@')) return 'an http(s) URL names no user or password before its host (after "@" is the host it opens)';
  const close = authority.lastIndexOf(']');
  const portColon = authority.indexOf(':', close + 1);
  const host = portColon >= 0 ? authority.slice(0, portColon) : authority;
  if (host === '') return 'an http(s) URL has a host (it is empty)';
  if (host.includes('%')) return 'an http(s) URL\'s host is not percent-encoded (a DNS name is ASCII; an internationalised one is written in punycode, "xn--")';
  return undefined;
}
