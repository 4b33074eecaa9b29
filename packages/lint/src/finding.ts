import type { Finding } from '@sigil/manifest';

/** A lint finding: the project's one findings shape (`Finding` of @sigil/manifest). */
export type LintFinding = Finding;

/** True when any finding is an error (publishing is then refused with LINT_BLOCKED). */
export function hasErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

const SPACE = /\p{Z}/u;

/**
 * Shows hidden, control and non-ASCII-space characters as `\u{…}` so an excerpt cannot drive a
 * terminal or hide text. Reads only as far as the excerpt shows (`max` characters), whatever the
 * length of `text`: a finding's excerpt is made for every hit, and a hit in a long string (a
 * 256 KiB property name) must not cost the whole string each time.
 */
export function safeExcerpt(text: string, max = 160): string {
  let shown = '';
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    if (c === '\n') shown += '\\n';
    else if (c === '\t') shown += '\\t';
    else if (isHidden(cp) || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (c !== ' ' && SPACE.test(c))) shown += `\\u{${cp.toString(16)}}`;
    else shown += c;
    if (shown.length > max) return `${shown.slice(0, max)}…`;
  }
  return shown;
}

/** Unicode tag characters, default-ignorable and bidi formatting characters: invisible when rendered. */
export function isHidden(cp: number): boolean {
  return (
    (cp >= 0xe0000 && cp <= 0xe007f) || // tags
    cp === 0x00ad || cp === 0x034f || cp === 0x061c || cp === 0x115f || cp === 0x1160 || cp === 0x17b4 || cp === 0x17b5 || cp === 0x180e ||
    (cp >= 0x180b && cp <= 0x180f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff || cp === 0xffa0 ||
    (cp >= 0xfff0 && cp <= 0xfff8) ||
    (cp >= 0x1bca0 && cp <= 0x1bca3) ||
    (cp >= 0x1d173 && cp <= 0x1d17a) ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}
