import { isHidden, safeExcerpt } from './finding.js';

/** Every rule id, its default severity and a one-line summary (docs/lint-rules.md has examples). */
export const RULES = {
  'hidden-tag-characters': { severity: 'error', summary: 'Unicode tag characters (U+E0000–E007F) smuggle invisible text' },
  'hidden-invisible-characters': { severity: 'error', summary: 'zero-width and other default-ignorable characters hide or split text' },
  'hidden-bidi-controls': { severity: 'error', summary: 'bidirectional controls reorder what is displayed' },
  'control-characters': { severity: 'error', summary: 'C0/C1 control characters other than tab and newline' },
  'terminal-escape': { severity: 'error', summary: 'ANSI/terminal escape sequences, raw or written out (\\x1b, \\u001b, \\033, \\e[)' },
  'instruction-tags': { severity: 'warning', summary: 'tags that address the model, such as <IMPORTANT> or <system>' },
  'ignore-instructions': { severity: 'warning', summary: 'asks the model to ignore or override its instructions' },
  'conceal-from-user': { severity: 'warning', summary: 'asks the model to hide actions from the user' },
  'role-override': { severity: 'warning', summary: 'tries to change the model role or system prompt' },
  'tool-precedence': { severity: 'warning', summary: 'directs the model before or instead of other tools' },
  'cross-server-reference': { severity: 'warning', summary: 'refers to tools of other servers (shadowing)' },
  'sensitive-paths': { severity: 'warning', summary: 'names credential files and sensitive paths' },
  'credential-request': { severity: 'warning', summary: 'asks for keys, tokens or passwords the model has seen' },
  'exfiltration-url': { severity: 'warning', summary: 'a URL or address the model is told to send data to' },
  'markdown-image': { severity: 'warning', summary: 'markdown or HTML images, which leak data through their URL when rendered' },
  'encoded-blob': { severity: 'warning', summary: 'long base64 or hex blobs hide content from review' },
  'whitespace-padding': { severity: 'warning', summary: 'long runs of whitespace push text out of view' },
  'context-harvesting': { severity: 'warning', summary: 'parameters or text asking for context the tool should not need' },
  'mixed-script-words': { severity: 'warning', summary: 'words mixing Latin with look-alike letters of other scripts' },
  coercion: { severity: 'warning', summary: 'threats or pressure to make the model comply ("otherwise the tool will not work")' },
  'secret-in-manifest': { severity: 'error', summary: 'private keys, tokens or high-entropy secrets in defaults, values, headers or environment' },
  NAME_CONFUSABLE: { severity: 'error', summary: 'a server name or namespace that looks like another owner\'s' },
  'tool-shadowing': { severity: 'warning', summary: 'a tool name another approved server already exposes' },
  'agent-command': { severity: 'warning', summary: 'tells the agent to run shell commands, or names destructive or permission-changing commands' },
  'approval-bypass': { severity: 'warning', summary: 'asks to skip the user\'s approval, or announces behaviour that changes once approved (a rug pull)' },
  'encoded-instruction': { severity: 'warning', summary: 'encoded text (base64, hex, percent-encoding, HTML entities, escapes) that decodes to an instruction' },
  'nesting-depth': { severity: 'error', summary: 'objects or arrays nested deeper than the lint reads' },
} as const satisfies Record<string, { severity: 'error' | 'warning'; summary: string }>;
export type RuleId = keyof typeof RULES;

export type Emit = (rule: RuleId, s: { path: string }, message: string, excerpt?: string) => void;

const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}]/u;

/** True when a joiner or variation selector sits inside an emoji sequence. */
function emojiNeighbour(before: string | undefined, after: string | undefined, cp: number): boolean {
  if (cp === 0x200d) return before !== undefined && after !== undefined && (PICTOGRAPH.test(before) || before === '\ufe0f') && PICTOGRAPH.test(after);
  // VS15/VS16 follow a pictograph, or a keycap base (#, *, 0-9) before U+20E3.
  return before !== undefined && (PICTOGRAPH.test(before) || (/[#*0-9]/.test(before) && after === '\u20e3'));
}

/**
 * The subdivision flags Unicode recommends (RGI, UTS #51 and emoji-sequences.txt): England, Scotland
 * and Wales, as 🏴 + `gbeng`/`gbsct`/`gbwls` in tag letters + CANCEL TAG. Only these are accepted:
 * any other tag sequence after 🏴, even a well-formed ISO 3166-2 one (`usca`), is drawn by no
 * platform as a flag, so its tag letters are invisible and could spell anything (🏴 + `ignore` +
 * CANCEL TAG, 🏴 + `allpre` + … read as an instruction). Three fixed spellings carry no text.
 */
export const SUBDIVISION_FLAG = /\u{1f3f4}\u{e0067}\u{e0062}(?:\u{e0065}\u{e006e}\u{e0067}|\u{e0073}\u{e0063}\u{e0074}|\u{e0077}\u{e006c}\u{e0073})\u{e007f}/gu;
const FLAG_AT = new RegExp(SUBDIVISION_FLAG.source, 'uy');
/**
 * Scripts whose spelling uses the zero-width non-joiner and joiner between letters (Persian
 * می‌خواهم, Urdu, Indic conjuncts): there, between two letters of the script, they are orthography.
 */
const JOINING_SCRIPT = /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}]/u;

/** Rule 1: characters that hide or disguise text. Refused, never stripped. `how` names an encoding they were found under. */
export function hiddenText(s: { path: string; text: string }, emit: Emit, how = ''): void {
  const found = new Map<RuleId, number>();
  let index = 0;
  // Where the tag letters of the next subdivision flag end: they are skipped up to there. Each flag
  // is recognised once, where its 🏴 stands, so the scan stays one pass.
  let flagEnd = -1;
  const chars = [...s.text];
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k]!;
    const cp = c.codePointAt(0)!;
    if ((cp === 0x200c || cp === 0x200d) && JOINING_SCRIPT.test(chars[k - 1] ?? '') && JOINING_SCRIPT.test(chars[k + 1] ?? '')) {
      index += c.length;
      continue;
    }
    if (cp === 0x1f3f4) {
      FLAG_AT.lastIndex = index;
      if (FLAG_AT.test(s.text)) flagEnd = FLAG_AT.lastIndex;
    }
    if (cp >= 0xe0000 && index < flagEnd) {
      index += c.length;
      continue;
    }
    // Emoji sequences legitimately use variation selectors and the zero-width joiner (❤️, 👨‍👩‍👧).
    if ((cp === 0xfe0f || cp === 0xfe0e || cp === 0x200d) && emojiNeighbour(chars[k - 1], chars[k + 1], cp)) {
      index += c.length;
      continue;
    }
    let rule: RuleId | undefined;
    if (cp >= 0xe0000 && cp <= 0xe007f) rule = 'hidden-tag-characters';
    else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) rule = 'hidden-bidi-controls';
    else if (cp === 0x1b || cp === 0x9b || cp === 0x9d) rule = 'terminal-escape';
    else if (isHidden(cp)) rule = 'hidden-invisible-characters';
    else if ((cp < 0x20 && cp !== 0x09 && cp !== 0x0a) || (cp >= 0x7f && cp <= 0x9f)) rule = 'control-characters';
    if (rule && !found.has(rule)) found.set(rule, index);
    index += c.length;
  }
  for (const [rule, at] of found) emit(rule, s, `${RULES[rule].summary}${how}; refused, not stripped`, excerptAround(s.text, at, 1));
}

/** A word that mixes Latin letters with Cyrillic or Greek ones (homoglyph obfuscation). */
export function mixedScriptWord(text: string): string | undefined {
  for (const word of text.match(/[\p{L}\p{M}]+/gu) ?? []) {
    if (/\p{Script=Latin}/u.test(word) && /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u.test(word)) return word;
  }
  return undefined;
}

/** A long unbroken string of high Shannon entropy mixing letter cases and digits. */
export function looksRandom(text: string): boolean {
  for (const token of text.split(/[\s,;]+/)) {
    if (token.length < 24 || /[{}]/.test(token) || /^https?:\/\//.test(token)) continue;
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(token)).length;
    if (classes < 3) continue;
    const counts = new Map<string, number>();
    for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
    let h = 0;
    for (const n of counts.values()) h -= (n / token.length) * Math.log2(n / token.length);
    if (h >= 4) return true;
  }
  return false;
}

/** The original text around a match, hidden characters escaped. */
export function excerptAround(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 20);
  return safeExcerpt(text.slice(start, Math.min(text.length, index + Math.max(length, 1) + 40)));
}
