import type { Manifest } from '@sigil/manifest';
import type { LintFinding } from './finding.js';
import { decodeInline, decodeRun, readable } from './encoded.js';
import { foldText } from './fold.js';
import { joinSpacing, type JoinedText } from './spacing.js';
import { asciiFold, combine, compileRules, OTHER_SCRIPT_PATTERNS, SECRET_PATTERNS, type Anchored, type RuleSet, type TextPattern } from './patterns.js';
import { excerptAround, hiddenText, looksRandom, mixedScriptWord, RULES, SUBDIVISION_FLAG, type Emit, type RuleId } from './rules.js';
import { MAX_NESTING, walk, type ManifestString } from './walk.js';

export interface LintOptions {
  /** Warning rules a registry raises to errors (a registry setting). */
  errorRules?: readonly string[];
  /** Most findings reported (default 500). */
  maxFindings?: number;
}

// Compiled once, at the first lint (not when the module loads: the registry and the CLI load it
// on every start, and most starts lint nothing): the trigger pass and its anchored patterns, the
// symbol-led patterns, secrets for strings that are not prose, and scripts the fold would mangle.
let compiled: { rules: RuleSet; secret: RegExp; other: RegExp } | undefined;
const patterns = (): { rules: RuleSet; secret: RegExp; other: RegExp } => (compiled ??= { rules: compileRules(), secret: combine(SECRET_PATTERNS), other: combine(OTHER_SCRIPT_PATTERNS) });
const ENCODED: TextPattern = { rule: 'encoded-blob', raw: true, encoded: true, source: '' };
/** A parameter's description or title: where a `parameterOnly` pattern is reported. */
const PARAMETER_TEXT = /\/(?:properties|patternProperties)\/[^/]+\/(?:description|title)$/;

const folds = new Map<string, string>();
/** The anchored patterns of a trigger word as written (`Silently`, `si1ently`), its fold cached. */
function wordAt(words: Map<string, Anchored>, word: string): Anchored | undefined {
  let key = folds.get(word);
  if (key === undefined) {
    key = asciiFold(word);
    if (folds.size < 10_000) folds.set(word, key);
  }
  return words.get(key);
}

function anchoredAt(anchored: Anchored | undefined, text: string, index: number, found: (pattern: TextPattern, index: number, length: number) => void): void {
  if (!anchored) return;
  anchored.re.lastIndex = index;
  const hit = anchored.re.exec(text);
  if (!hit) return;
  const pattern = anchored.patterns[hit.indexOf(hit[0], 1) - 1]!;
  if (!pattern.verify || pattern.verify.test(hit[0])) found(pattern, index, hit[0].length);
}

/**
 * Every match of the prose rules in `text` (folded when it is not plain ASCII), in two linear passes: the trigger
 * pass (words, prefixes, encoded runs) with anchored patterns tried only at its hits, and the
 * symbol-led patterns. `found` gets the pattern, the offset and the length.
 */
function matchProse(text: string, found: (pattern: TextPattern, index: number, length: number) => void, signs?: { spaced: boolean }): void {
  // The searches below are shared (global regular expressions, their place in lastIndex), and
  // `found` may read decoded text with them again (an encoded run): the hits are collected first
  // and handed over once both passes are done, so no inner reading moves an outer one back.
  const hits: Array<[TextPattern, number, number]> = [];
  collectProse(text, (pattern, index, length) => void hits.push([pattern, index, length]), signs);
  for (const [pattern, index, length] of hits) found(pattern, index, length);
}

function collectProse(text: string, found: (pattern: TextPattern, index: number, length: number) => void, signs?: { spaced: boolean }): void {
  const ruleset = patterns().rules;
  const { words, prefixed, symbols, symbolPatterns } = ruleset;
  // Identifiers (`send_email`) are tried only in text that has an underscore.
  const trigger = text.includes('_') ? ruleset.trigger : ruleset.triggerNoIdent;
  trigger.lastIndex = 0;
  for (let m = trigger.exec(text); m; m = trigger.exec(text)) {
    if (m[3] !== undefined) {
      // A long word with camelCase humps (`doNotTellTheUser`) may be a phrase: read the joined view too.
      if (signs && CAMEL_HUMPS.test(m[0])) signs.spaced = true;
      found(ENCODED, m.index, m[0].length);
      continue;
    }
    if (m[4] !== undefined) {
      if (signs) signs.spaced = true;
      continue;
    }
    // A trigger word may also begin a prefixed pattern (`password: …` is both), so both are tried.
    if (m[1] !== undefined) anchoredAt(wordAt(words, m[1]), text, m.index, found);
    anchoredAt(prefixed, text, m.index, found);
    if (m[2] !== undefined) anchoredAt(ruleset.identified, text, m.index, found);
  }
  symbols.lastIndex = 0;
  for (let m = symbols.exec(text); m; m = symbols.exec(text)) {
    if (m[0].length === 0) {
      symbols.lastIndex++;
      continue;
    }
    found(symbolPatterns[m.indexOf(m[0], 1) - 1]!, m.index, m[0].length);
  }
}
/** The other-script patterns' matches in `text`, all found before any is handed on (see matchProse). */
function otherScriptHits(text: string): Array<[TextPattern, number, number]> {
  const re = patterns().other;
  const hits: Array<[TextPattern, number, number]> = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) hits.push([OTHER_SCRIPT_PATTERNS[m.indexOf(m[0], 1) - 1]!, m.index, m[0].length]);
  return hits;
}
const CAMEL_HUMPS = /[a-z][A-Z][a-z0-9]{0,40}[A-Z]/;
/** Words hyphenated across a line end, or joined by long dashes: read the joined view too (plain searches, then one led by a hyphen). */
const WRAPPED_LINE = /-[ \t]{0,8}\r?\n/;
const wrapOrDash = (text: string): boolean => (text.includes('-') && WRAPPED_LINE.test(text)) || text.includes('—') || text.includes('–');

/** Between a tool's strings when they are read together: a paragraph separator (`\s`, not `.`). */
const JOIN = '\u2029';
/** Decoding bounds: depth of nesting, and characters decoded per manifest. */
const MAX_DEPTH = 2;
const MAX_DECODED = 256 * 1024;
/** A base64 or hex run this long is a warning even when it decodes to nothing readable. */
const BLOB_BASE64 = 100;
const BLOB_HEX = 96;
const HEX_RUN = /^[0-9a-fA-F]+$/;
const NOT_PLAIN = /[^\x20-\x7e\n\t]/;
/** Quick tests before the per-character scans: any control, format, variation-selector or tag character; any Greek, Cyrillic, Armenian or Cherokee letter. */
// eslint-disable-next-line no-control-regex, no-misleading-character-class -- finding these characters (and the high surrogates of planes holding tags) is the point
const MAYBE_HIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\ud82f\ud834\udb40]/;
const MAYBE_MIXED = /[\u0370-\u058f\u13a0-\u13ff\uab70-\uabbf]/;
/** Base64 of text mixes cases; a run in one case (an identifier such as `firecrawl_monitor_create`) is not tried, unless it is hex. */
const MIXED_CASE = /[a-z]/;
const UPPER = /[A-Z]/;

/**
 * Lints every string of a manifest: hidden and control text (errors), poisoning patterns
 * (warnings, matched after NFKC and confusable folding), secrets (errors), encoded payloads
 * (decoded and linted again). A tool's prose strings are also read together, in document order,
 * so an instruction split over its description, parameter descriptions, defaults and enums is
 * found. Pure and deterministic: the same manifest gives the same findings in the same order
 * (tool by tool, in document order of the tools).
 * @example
 * const findings = lintManifest(manifest);
 * if (hasErrors(findings)) refuse('LINT_BLOCKED', findings);
 */
export function lintManifest(manifest: Manifest, options: LintOptions = {}): LintFinding[] {
  const raised = new Set(options.errorRules ?? []);
  const max = options.maxFindings ?? 500;
  const findings: LintFinding[] = [];
  // Rules already reported, by path. Keyed by the path string itself, whose hash the engine keeps:
  // a key built as `${rule} ${path}` was a new string hashed in full on every hit, quadratic for a
  // long property name with a hit every few characters (256 KiB of `sk-` as a name: 35 s).
  const seen = new Map<string, Set<RuleId>>();
  const emit: Emit = (rule, s, message, excerpt) => {
    const reported = seen.get(s.path);
    if (reported?.has(rule)) return;
    const severity = RULES[rule].severity === 'error' || raised.has(rule) ? 'error' : 'warning';
    if (findings.length >= max) {
      // Past the cap an error still counts: it takes the place of the latest warning, so a
      // manifest cannot push its errors out with warnings it put first (and be published).
      const last = severity === 'error' ? findings.findLastIndex((f) => f.severity === 'warning') : -1;
      if (last < 0) return;
      findings.splice(last, 1);
    }
    if (reported) reported.add(rule);
    else seen.set(s.path, new Set([rule]));
    findings.push({ path: s.path, rule, severity, message, ...(excerpt ? { excerpt } : {}) });
  };
  const linter = new Reader(emit);
  // Tool by tool (its strings read together), each other string on its own; nothing is kept
  // beyond one tool, so the cost stays linear in the size of the manifest.
  for (const key in manifest) {
    if (!Object.hasOwn(manifest, key)) continue;
    const value = (manifest as unknown as Record<string, unknown>)[key];
    if (key === 'tools' && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const strings: ManifestString[] = [];
        // Inside the manifest and its `tools` array: depth 2.
        const tooDeep = walk(value[i], `/tools/${i}`, 'tools', i, false, strings, false, 2);
        linter.namedSecrets(strings);
        linter.group(strings, `/tools/${i}`);
        if (tooDeep !== undefined) nestedTooDeep(emit, tooDeep);
      }
      continue;
    }
    const strings: ManifestString[] = [];
    const tooDeep = walk(value, `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, key, -1, key === 'headers' || key === 'environmentVariables', strings, key === '_meta', 1);
    linter.namedSecrets(strings);
    for (const s of strings) linter.group([s], undefined);
    if (tooDeep !== undefined) nestedTooDeep(emit, tooDeep);
  }
  return findings;
}

/** Fail closed on what the walk did not read: an error, so the manifest is refused rather than passed half-read. */
function nestedTooDeep(emit: Emit, path: string): void {
  emit('nesting-depth', { path }, `${RULES['nesting-depth'].summary} (${MAX_NESTING} levels); what lies below is not read, so the manifest is refused`);
}

interface Segment {
  s: ManifestString;
  /** Start of the string in the joined original text. */
  start: number;
}

/** Reads groups of strings (one tool's, or one string outside tools) and emits findings. */
class Reader {
  private decoded = 0;
  constructor(private readonly emit: Emit) {}

  /**
   * A configured value (an environment variable's or a header's `value`, a parameter's default or
   * example) under a name that says it holds a credential (`MAILGUN_KEY`, `Authorization`, a
   * `token` property), when it looks like a key: hex of 32+ characters, or 20+ mixing both cases
   * and digits with high entropy. Catches keys of vendors no format in SECRET_PATTERNS knows; a
   * template (`Bearer {api_key}`, `${TOKEN}`) or a documentation placeholder is not one.
   */
  namedSecrets(strings: readonly ManifestString[]): void {
    let name: ManifestString | undefined;
    for (const s of strings) {
      if (s.kind === 'key') continue;
      if (s.field === 'name') {
        name = s;
        continue;
      }
      if (!s.secretBearing || s.text.length < 16) continue;
      const parent = s.path.slice(0, s.path.lastIndexOf('/'));
      const label = name && name.path === `${parent}/name` ? name.text : PROPERTY_OF.exec(parent.replace(/\/(?:enum|examples)$/, ''))?.[1];
      if (label && CREDENTIAL_NAME.test(label) && keyLike(s.text)) {
        this.emit('secret-in-manifest', s, `this value of ${JSON.stringify(label)} looks like a key; secrets never belong in a signed manifest (use an input with isSecret)`, `[redacted ${s.text.length} characters]`);
      }
    }
  }

  group(strings: readonly ManifestString[], toolPath: string | undefined): void {
    const segments: Segment[] = [];
    let original = '';
    let folded = '';
    let map: number[] | undefined;
    let plain = true;
    for (const s of strings) {
      const nonPlain = NOT_PLAIN.test(s.text);
      if (nonPlain && MAYBE_HIDDEN.test(s.text)) {
        hiddenText(s, this.emit);
        const tags = tagText(s.text);
        if (tags) this.decodedText(s, tags, 'Unicode tag characters', 1);
      }
      if (nonPlain && MAYBE_MIXED.test(s.text)) {
        if (s.prose) {
          const word = mixedScriptWord(s.text);
          if (word) this.emit('mixed-script-words', s, `the word ${JSON.stringify(excerptAround(word, 0, word.length))} mixes Latin with look-alike letters of another script`, excerptAround(word, 0, word.length));
        }
      }
      if (s.kind === 'key') {
        this.key(s);
        continue;
      }
      if (s.secretBearing && s.text.length >= 24 && looksRandom(s.text)) {
        this.emit('secret-in-manifest', s, 'this configured value is a long high-entropy string, probably a secret; use an input with isSecret instead', `[redacted ${s.text.length} characters]`);
      }
      if (!s.prose) {
        if (s.text.length >= 8) this.secrets(s);
        continue;
      }
      if (segments.length) {
        original += JOIN;
        folded += JOIN;
        map?.push(original.length - 1);
      }
      const f = nonPlain ? foldText(s.text) : { text: s.text, map: undefined };
      if (f.map || map) {
        // Offsets of the folded text in the original, kept only once a string needed folding.
        map ??= Array.from({ length: folded.length }, (_, k) => k);
        const base = original.length;
        if (f.map) for (let k = 0; k < f.text.length; k++) map.push(base + f.map[k]!);
        else for (let k = 0; k < f.text.length; k++) map.push(base + k);
      }
      segments.push({ s, start: original.length });
      original += s.text;
      folded += f.text;
      if (nonPlain) plain = false;
      for (const inline of decodeInline(s.text)) this.decodedText(s, inline.text, inline.encoding, 1);
    }
    if (!segments.length) return;
    map?.push(original.length);
    const signs = { spaced: false };
    matchProse(folded, (pattern, index, length) => this.report(pattern, index, length, original, map, segments, toolPath), signs);
    // The joined view (spacing.ts), only for strings that show a sign of needing it.
    if (signs.spaced || folded.includes('_') || wrapOrDash(original)) {
      for (const { s } of segments) {
        const joined = joinSpacing(s.text);
        if (joined) this.joined(s, joined);
      }
    }
    if (!plain) {
      const other = original.normalize('NFKC').toLowerCase();
      for (const [pattern, index, length] of otherScriptHits(other)) this.report(pattern, Math.min(index, original.length - 1), length, original, undefined, segments, toolPath);
    }
  }

  /** One match in the joined text: reported on the string it lies in, or on the tool when it spans strings. */
  private report(pattern: TextPattern, index: number, length: number, original: string, map: number[] | undefined, segments: readonly Segment[], toolPath: string | undefined): void {
      const from = map ? map[index]! : index;
      const to = Math.min(original.length, map ? map[Math.min(index + length, map.length - 1)]! : index + length);
      const seg = segmentAt(segments, from);
      const inOne = to <= seg.start + seg.s.text.length;
      if (pattern.parameterOnly && !(inOne && PARAMETER_TEXT.test(seg.s.path))) return;
      if (pattern.encoded) {
        if (inOne) this.run(seg.s, original.slice(from, to), 1);
        return;
      }
      if (pattern.rule === 'secret-in-manifest') {
        if (PLACEHOLDER_SECRET.test(original.slice(from, to))) return;
        this.emit('secret-in-manifest', seg.s, `this looks like ${pattern.what}; secrets never belong in a signed manifest (use an input with isSecret)`, `[redacted ${seg.s.text.length} characters]`);
        return;
      }
      const summary = RULES[pattern.rule].summary;
      if (inOne || toolPath === undefined) {
        this.emit(pattern.rule, seg.s, summary, excerptAround(seg.s.text, from - seg.start, to - from));
      } else {
        const last = segmentAt(segments, Math.max(from, to - 1));
        const excerpt = excerptAround(original, from, to - from).replaceAll('\\u{2029}', ' ⏎ ');
        this.emit(pattern.rule, { path: toolPath }, `${summary}, read across the tool's strings ${seg.s.path} … ${last.s.path}`, excerpt);
      }
  }

  /** A string's second view, its spaced-out letters, line-wrapped words and long identifiers joined (spacing.ts). */
  private joined(s: ManifestString, joined: JoinedText): void {
    // Only the windows around the joins are read again: elsewhere the view is the string itself.
    for (const [start, end] of joined.windows) {
      const f = foldText(joined.text.slice(start, end));
      matchProse(f.text, (pattern, index, length) => {
        if (pattern.encoded || pattern.parameterOnly || pattern.rule === 'whitespace-padding' || pattern.rule === 'secret-in-manifest') return;
        const at = (k: number) => joined.map[Math.min(start + (f.map ? f.map[Math.min(k, f.map.length - 1)]! : k), joined.map.length - 1)]!;
        const from = at(index);
        this.emit(pattern.rule, s, `${RULES[pattern.rule].summary}, read with its spaced-out letters or split words joined`, excerptAround(s.text, from, Math.max(1, at(index + length) - from)));
      });
    }
  }

  /** A base64 or hex run: decoded text is linted again; a long run that decodes to nothing readable is a blob. */
  private run(s: ManifestString, run: string, depth: number): void {
    const hex = HEX_RUN.test(run);
    if (!hex && run.length < BLOB_BASE64 && !(MIXED_CASE.test(run) && UPPER.test(run))) return;
    const decoded = decodeRun(run);
    let found = false;
    if (decoded && (readable(decoded.text) || NOT_PLAIN.test(decoded.text))) found = this.decodedText(s, decoded.text, decoded.encoding, depth);
    const blob = hex ? run.length >= BLOB_HEX : run.length >= BLOB_BASE64;
    if (blob && !found) this.emit('encoded-blob', s, `${RULES['encoded-blob'].summary} (${run.length} characters)`, `${run.slice(0, 24)}…`);
  }

  /** Lints decoded text with every rule; true when it gave a finding. Bounded in depth and in total size. */
  private decodedText(s: ManifestString, text: string, encoding: string, depth: number): boolean {
    if (depth > MAX_DEPTH || this.decoded + text.length > MAX_DECODED) return false;
    this.decoded += text.length;
    let found = false;
    const how = `, hidden inside ${encoding}`;
    const hiddenEmit: Emit = (rule, at, message, excerpt) => {
      found = true;
      this.emit(rule, at, message, excerpt);
    };
    if (NOT_PLAIN.test(text)) hiddenText({ path: s.path, text }, hiddenEmit, how);
    const f = foldText(text);
    const hit = (pattern: TextPattern, index: number, length: number): void => {
      if (pattern.encoded) {
        if (depth < MAX_DEPTH) {
          const decoded = decodeRun(f.text.slice(index, index + length));
          if (decoded && (readable(decoded.text) || NOT_PLAIN.test(decoded.text)) && this.decodedText(s, decoded.text, `${decoded.encoding} inside ${encoding}`, depth + 1)) found = true;
        }
        return;
      }
      if (pattern.rule === 'whitespace-padding' || pattern.parameterOnly) return;
      found = true;
      if (pattern.rule === 'secret-in-manifest' || pattern.rule === 'terminal-escape') {
        this.emit(pattern.rule, s, `${RULES[pattern.rule].summary}${how}`, pattern.rule === 'secret-in-manifest' ? `[redacted ${s.text.length} characters]` : undefined);
        return;
      }
      const at = Math.min(f.map ? f.map[index]! : index, text.length);
      this.emit('encoded-instruction', s, `${encoding} that decodes to text the ${pattern.rule} rule flags: ${RULES[pattern.rule].summary}`, excerptAround(text, at, length));
    };
    matchProse(f.text, hit);
    if (NOT_PLAIN.test(text)) {
      for (const [pattern, index, length] of otherScriptHits(text.normalize('NFKC').toLowerCase())) hit(pattern, Math.min(index, text.length - 1), length);
    }
    if (depth < MAX_DEPTH) for (const inline of decodeInline(text)) if (this.decodedText(s, inline.text, `${inline.encoding} inside ${encoding}`, depth + 1)) found = true;
    return found;
  }

  private secrets(s: ManifestString): void {
    const secretRe = patterns().secret;
    secretRe.lastIndex = 0;
    const m = secretRe.exec(s.text);
    if (m) {
      const pattern = SECRET_PATTERNS[m.indexOf(m[0], 1) - 1]!;
      this.emit('secret-in-manifest', s, `this looks like ${pattern.what}; secrets never belong in a signed manifest (use an input with isSecret)`, `[redacted ${s.text.length} characters]`);
    }
  }

  /** A parameter named for the conversation or the model's context, that can carry text. */
  private key(s: ManifestString): void {
    // A parameter name is shown to the model too: read as written and with its words spaced
    // (`ignore_previous_instructions`, `readSshIdRsaFirst`), every prose rule applies.
    if (s.text.length >= 11) {
      const spaced = s.text.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
      for (const text of spaced === s.text ? [s.text] : [s.text, spaced]) {
        matchProse(text, (pattern) => {
          if (pattern.encoded || pattern.rule === 'whitespace-padding') return;
          const message = pattern.rule === 'secret-in-manifest' ? `this looks like ${pattern.what}; secrets never belong in a signed manifest` : `${RULES[pattern.rule].summary}, in a parameter name`;
          this.emit(pattern.rule, s, message, pattern.rule === 'secret-in-manifest' ? `[redacted ${s.text.length} characters]` : excerptAround(s.text, 0, s.text.length));
        });
      }
    }
    // A name that asks for the user's stored credentials (`the_users_saved_passwords`), wherever it stands.
    if (SECRET_HINT.test(s.text)) {
      const words = s.text.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
      if (asksForSecrets(words)) this.emit('credential-request', s, `the name ${JSON.stringify(s.text)} asks for the user's stored credentials`, excerptAround(s.text, 0, s.text.length));
    }
    // Harvesting is a property that can carry the conversation: a schema property's own name.
    if (s.field !== 'key' || !HARVEST_HINT.test(s.text)) return;
    const words = s.text.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
    if (!harvests(words) || !carriesText(s.schema)) return;
    this.emit('context-harvesting', s, `the parameter ${JSON.stringify(s.text)} asks for the conversation or the model's context, which a tool should not need`, excerptAround(s.text, 0, s.text.length));
  }
}

/**
 * A key format filled with a documentation placeholder (AWS's own `AKIAIOSFODNN7EXAMPLE`,
 * `sk-xxxxxxxx…`) in prose: a format shown as an example, not a credential. A configured value
 * (an environment value, a header, a default) is refused whatever it holds.
 */
const PLACEHOLDER_SECRET = /EXAMPLE|example|[xX*]{8}|0{12}|your[_-]?(?:api[_-]?)?(?:key|token)/;

const PROPERTY_OF = /\/(?:properties|patternProperties)\/([^/]+)$/;
/** A name for a credential: `MAILGUN_KEY`, `X-Api-Key`, `Authorization`, `accessToken`, `client_secret`. */
const CREDENTIAL_NAME = /key|token|secret|passw|pwd|auth|credential|bearer|cookie/i;
const TEMPLATE = /[{}<>$%]|^https?:/;
const HEX_KEY = /^[0-9a-f]{32,}$/i;

/** One of the value's words looks like a key (see Reader.namedSecrets). */
function keyLike(text: string): boolean {
  for (const token of text.split(/\s+/)) {
    if (token.length < 20 || TEMPLATE.test(token) || PLACEHOLDER_SECRET.test(token)) continue;
    if (HEX_KEY.test(token) && /\d/.test(token) && /[a-f]/i.test(token)) return true;
    if (!/\d/.test(token) || !/[a-z]/.test(token) || !/[A-Z]/.test(token)) continue;
    const counts = new Map<string, number>();
    for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
    let h = 0;
    for (const n of counts.values()) h -= (n / token.length) * Math.log2(n / token.length);
    if (h >= 3.5) return true;
  }
  return false;
}

/** Any name `asksForSecrets` can accept holds one of these. */
const SECRET_HINT = /passw|credential|cookie|secret|private|api_?key|token|seed|mnemonic/i;
const OWNERS = new Set(['user', 'users', 'saved', 'stored', 'browser', 'cached', 'all', 'every', 'their', 'your', 'my', 'keychain', 'wallet', 'ssh', 'aws']);
const SECRET_WORDS = new Set(['passwords', 'password', 'credentials', 'cookies', 'secrets', 'tokens', 'keys', 'mnemonic', 'seed']);

/** Words of a name that name someone's stored credentials (`users saved passwords`, `browser cookies`), not a field for one (`password`, `api_key`). */
function asksForSecrets(words: readonly string[]): boolean {
  if (words.length < 3) return false;
  let owner = false;
  for (const w of words) {
    if (OWNERS.has(w)) owner = true;
    else if (owner && SECRET_WORDS.has(w)) return true;
  }
  return false;
}

/** Any parameter name `harvests` can accept holds one of these. */
const HARVEST_HINT = /side_?note|conversation|chat|prompt|messages|history|context/i;

/** Words that name a domain object (an id, a flag, a meeting's transcript), not the conversation. */
const DOMAIN_WORDS = new Set(['id', 'ids', 'url', 'uri', 'name', 'title', 'count', 'limit', 'page', 'cursor', 'include', 'with', 'show', 'fetch', 'enable', 'meeting', 'video', 'audio', 'call', 'media', 'file', 'path', 'format', 'type', 'language', 'lang', 'mode', 'channel', 'thread', 'ts']);

function harvests(words: readonly string[]): boolean {
  if (words.some((w) => DOMAIN_WORDS.has(w))) return false;
  const has = (w: string) => words.includes(w);
  const joined = words.join('');
  return (
    joined === 'sidenote' ||
    has('conversation') ||
    has('conversations') ||
    (has('chat') && (has('history') || has('log') || has('transcript') || has('context'))) ||
    (has('system') && has('prompt')) ||
    ((has('previous') || has('prior') || has('past') || has('all') || has('user')) && has('messages')) ||
    (has('message') && has('history')) ||
    (has('context') && (has('dump') || has('full') || has('entire') || has('whole')))
  );
}

/** A property schema that can hold free text: a string, or no type given. Booleans, numbers and enums cannot carry a conversation. */
function carriesText(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true;
  const sc = schema as { type?: unknown; enum?: unknown; const?: unknown };
  if (Array.isArray(sc.enum) || sc.const !== undefined) return false;
  const types = Array.isArray(sc.type) ? sc.type : sc.type === undefined ? [] : [sc.type];
  return types.length === 0 || types.some((t) => t === 'string' || t === 'array' || t === 'object');
}

/** The ASCII that Unicode tag characters (U+E0020–E007E) spell, when there are any. */
function tagText(text: string): string | undefined {
  let out = '';
  for (const c of text.replace(SUBDIVISION_FLAG, '')) {
    const cp = c.codePointAt(0)!;
    if (cp >= 0xe0020 && cp <= 0xe007e) out += String.fromCharCode(cp - 0xe0000);
  }
  return out.length >= 4 ? out : undefined;
}

function segmentAt(segments: readonly Segment[], offset: number): Segment {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return segments[lo]!;
}

export type { RuleId };
