/**
 * Decoders for text hidden under an encoding. Each is bounded: it reads at most `MAX_INPUT`
 * characters and gives back at most that many. The lint decodes to depth 2 (an encoding inside
 * an encoding) and caps the total decoded per manifest (see lint.ts).
 */
export const MAX_INPUT = 16 * 1024;
/** Fewest encoded characters worth decoding ("at least 16 characters of payload"). */
export const MIN_PAYLOAD = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX = /^[0-9a-fA-F]+$/;

/** A base64 (standard or URL-safe) or hex run, decoded to text when it is well-formed UTF-8; else undefined. */
export function decodeRun(run: string): { text: string; encoding: string } | undefined {
  const s = run.slice(0, MAX_INPUT);
  if (s.length >= 32 && s.length % 2 === 0 && HEX.test(s)) {
    const text = decodeBytes(Buffer.from(s, 'hex'));
    return text === undefined ? undefined : { text, encoding: 'hex' };
  }
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  const urlSafe = /[-_]/.test(body);
  if (urlSafe && /[+/]/.test(body)) return undefined;
  const text = decodeBytes(Buffer.from(body, urlSafe ? 'base64url' : 'base64'));
  return text === undefined ? undefined : { text, encoding: urlSafe ? 'URL-safe base64' : 'base64' };
}

function decodeBytes(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Readable text: mostly letters, digits, spaces and punctuation, with at least one space or
 * invisible character. Random bytes that happen to be UTF-8 are not.
 */
export function readable(text: string): boolean {
  if (text.length < 4) return false;
  let good = 0;
  let gaps = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x09) {
      gaps++;
      good++;
    } else if (c >= 0x21 && c <= 0x7e) good++;
    else if (c >= 0xa0) good++;
  }
  return gaps > 0 && good / text.length >= 0.9;
}

const PERCENT = /%[0-9a-fA-F]{2}/g;
const ENTITY = /&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});/g;
const ESCAPE = /\\(?:u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{3})/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0', sol: '/', colon: ':', lpar: '(', rpar: ')', period: '.', comma: ',', excl: '!', num: '#', tilde: '~', zwj: '\u200d', zwnj: '\u200c', lrm: '\u200e', rlm: '\u200f', shy: '\u00ad' };

/**
 * Decodes the inline encodings of a string (percent-encoding, HTML entities, `\u`/`\x` and octal
 * escapes) when it holds at least two sequences of one kind spanning at least MIN_PAYLOAD
 * characters. Answers each encoding that applied with the text it decodes to.
 */
export function decodeInline(text: string): Array<{ text: string; encoding: string }> {
  const out: Array<{ text: string; encoding: string }> = [];
  const s = text.slice(0, MAX_INPUT);
  if (s.includes('%') && spans(s, PERCENT)) {
    const decoded = percentDecode(s);
    if (decoded !== s) out.push({ text: decoded, encoding: 'percent-encoding' });
  }
  if (s.includes('&') && spans(s, ENTITY)) {
    const decoded = s.replace(ENTITY, (m) => entity(m.slice(1, -1)) ?? m);
    if (decoded !== s) out.push({ text: decoded, encoding: 'HTML entities' });
  }
  if (s.includes('\\') && spans(s, ESCAPE)) {
    const decoded = s.replace(ESCAPE, (m) => escapeChar(m) ?? m);
    if (decoded !== s) out.push({ text: decoded, encoding: 'escape sequences' });
  }
  return out;
}

function spans(s: string, re: RegExp): boolean {
  re.lastIndex = 0;
  let count = 0;
  let first = -1;
  let last = -1;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (first < 0) first = m.index;
    last = m.index + m[0].length;
    count++;
  }
  return count >= 2 && last - first >= MIN_PAYLOAD;
}

/** Percent-decoding that keeps what does not decode (a lone `%` or bytes that are not UTF-8). */
function percentDecode(s: string): string {
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    const bytes = Uint8Array.from(run.match(/%[0-9a-fA-F]{2}/g)!.map((h) => parseInt(h.slice(1), 16)));
    return decodeBytes(bytes) ?? run;
  });
}

function entity(name: string): string | undefined {
  if (name[0] === '#') {
    const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
  }
  return NAMED[name.toLowerCase()];
}

function escapeChar(m: string): string | undefined {
  const kind = m[1];
  const cp = kind === 'u' ? parseInt(m[2] === '{' ? m.slice(3, -1) : m.slice(2), 16) : kind === 'x' ? parseInt(m.slice(2), 16) : parseInt(m.slice(1), 8);
  return cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
}
