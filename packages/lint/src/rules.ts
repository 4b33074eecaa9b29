import { folded, fold } from './fold.js';
import { isHidden, safeExcerpt } from './finding.js';
import type { ManifestString } from './walk.js';

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
} as const satisfies Record<string, { severity: 'error' | 'warning'; summary: string }>;
export type RuleId = keyof typeof RULES;

type Emit = (rule: RuleId, s: ManifestString, message: string, excerpt?: string) => void;

const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}]/u;

/** True when a joiner or variation selector sits inside an emoji sequence. */
function emojiNeighbour(before: string | undefined, after: string | undefined, cp: number): boolean {
  if (cp === 0x200d) return before !== undefined && after !== undefined && (PICTOGRAPH.test(before) || before === '\ufe0f') && PICTOGRAPH.test(after);
  // VS15/VS16 follow a pictograph, or a keycap base (#, *, 0-9) before U+20E3.
  return before !== undefined && (PICTOGRAPH.test(before) || (/[#*0-9]/.test(before) && after === '\u20e3'));
}

/** Rule 1: characters that hide or disguise text. Refused, never stripped. */
export function hiddenText(s: ManifestString, emit: Emit): void {
  const found = new Map<RuleId, number>();
  let index = 0;
  const chars = [...s.text];
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k]!;
    const cp = c.codePointAt(0)!;
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
  // ESC written out, for a renderer that interprets escapes later.
  const written = /\\x1b|\\u001b|\\u\{1b\}|\\033\[|\\e\[|\^\[\[/i.exec(s.text);
  if (written && !found.has('terminal-escape')) found.set('terminal-escape', written.index);
  for (const [rule, at] of found) emit(rule, s, `${RULES[rule].summary}; refused, not stripped`, excerptAround(s.text, at, 1));
}

const ADDRESS_MODEL = [
  { rule: 'instruction-tags', re: /<\s*\/?\s*(important|system|instructions?|admin|secret|hidden|critical|assistant|sys|note[_ -]?to[_ -]?(ai|assistant|model|llm))\b[^>]{0,40}>|\[\/?(inst|system)\]|<\|(im_start|im_end|system|endoftext)\|>|(^|\n)\s*#{1,6}\s*(system|assistant|instructions?|developer)\s*:?\s*($|\n)|(^|\n)\s*(system|assistant)\s*:\s/ },
  { rule: 'ignore-instructions', re: folded('(ignore|disregard|forget|override|bypass)\\s+(all\\s+|any\\s+|the\\s+|your\\s+)*(previous|prior|above|earlier|preceding|former|original|existing|other)\\s+(instructions|prompts?|rules|directions|guidelines|guidance|messages|context|constraints|policies|directives|programming)') },
  { rule: 'conceal-from-user', re: folded("(do\\s*n[o']?t|never|without)\\s+(tell|telling|mention|mentioning|inform|informing|reveal|revealing|notify|notifying|alert|alerting|show|showing)\\s+(it\\s+|this\\s+|anything\\s+)?(to\\s+)?(the\\s+)?user|do\\s*n[o']?t\\s+mention\\s+(it|this|that)|\\b(silently|secretly|covertly|quietly)\\s+(send|post|upload|copy|forward|add|include|call|run|execute|change|append|bcc|email|transmit)|\\b(keep|hide)\\s+(this|it|that|these)?\\s*(step|action|call|part)?s?\\s*(hidden|secret|invisible)\\s+from\\s+the\\s+user|\\bhidden\\s+from\\s+the\\s+user|(do\\s*n[o']?t|never)\\s+let\\s+the\\s+user\\s+(know|see|notice)|\\bwithout\\s+the\\s+user('?s)?\\s+(knowledge|knowing|noticing|consent)") },
  { rule: 'role-override', re: folded('\\byou\\s+are\\s+now\\b|\\bact\\s+as\\s+(an?\\s+)?(unrestricted|jailbroken|different|new)|\\b(system\\s+prompt|developer\\s+mode|devmode|jailbreak)\\b|\\bnew\\s+instructions\\b|\\bfrom\\s+(now|this\\s+point)\\s+(on|onwards?|forward)\\b|\\byou\\s+are\\s+(an?\\s+)?(unrestricted|unfiltered|uncensored|jailbroken)\\b|\\bobey\\s+(the\\s+)?(instructions|commands)\\s+in\\b') },
  { rule: 'tool-precedence', re: folded('\\bbefore\\s+(using|calling|invoking|running)\\s+(this|any|other|another|the\\s+other)\\s+(other\\s+)?tools?\\b|\\bbefore\\s+(calling|using)\\s+any\\s+other\\b|\\b(never|do\\s*n[o\']?t)\\s+use\\s+\\S+\\s+from\\s+(any\\s+)?other\\b|\\bthis\\s+is\\s+the\\s+only\\s+(trusted|safe|valid|real|official)\\b|\\bwhen\\s+(\\(\\S+\\)\\s+)?\\S+\\s+is\\s+(invoked|called|used)\\b|\\bside\\s+effect\\s+on\\b|\\buse\\s+this\\s+tool\\s+instead\\b|\\bis\\s+(broken|deprecated|insecure|compromised|unsafe)\\b[^.]{0,80}\\binstead\\b') },
  { rule: 'coercion', re: folded('\\b(otherwise|or\\s+else)\\s+(the|this)\\s+tool\\s+(will|would|may)\\s+(not\\s+work|fail|crash|break|stop)|\\b(all|your)\\s+(data|files|work)\\s+(will|would)\\s+be\\s+(lost|deleted|destroyed)|\\brequired\\s+for\\s+compliance\\b|\\bmandatory\\s+[^.]{0,30}side\\s+effect') },
  { rule: 'cross-server-reference', re: folded('\\bmcp_tool_\\w+|\\(mcp_\\w+\\)|\\b(from|on|of)\\s+(any\\s+)?other\\s+(mcp\\s+)?servers?\\b|\\balso\\s+present\\b|\\bother\\s+mcp\\s+servers?\\b') },
  { rule: 'sensitive-paths', re: /~\/\.(ssh|aws|gnupg|kube|docker|config\/gcloud|cursor|npmrc|netrc|git-credentials|pgpass)|\bid_(rsa|dsa|ecdsa|ed25519)\b|(^|[\s'"`(])\.env\b|\bmcp\.json\b|claude_desktop_config\.json|\.aws\/credentials|\/etc\/(passwd|shadow|sudoers)\b|\.kube\/config|\.docker\/config\.json|application_default_credentials\.json|\.git-credentials|\bkeychain\b|\.bash_history|\.zsh_history/ },
  { rule: 'credential-request', re: folded('\\b(api\\s*keys?|passwords?|secrets?|credentials?|private\\s+keys?|access\\s+tokens?|session\\s+(cookies?|tokens?)|auth(entication)?\\s+tokens?)\\b[^.]{0,40}\\b(you\\s+have\\s+seen|you\\s+(can\\s+)?find|in\\s+(the\\s+)?(context|conversation|environment))|\\b(include|pass|send|append|attach|extract|collect|read)\\s+(all\\s+|any\\s+|the\\s+|your\\s+)*(api\\s*keys?|passwords?|credentials?|private\\s+keys?|access\\s+tokens?|secrets)\\b') },
  { rule: 'context-harvesting', re: folded('\\b(entire|full|whole|complete)\\s+(conversation|chat|transcript|history|context)\\b|\\bconversation\\s+so\\s+far\\b|\\b(chat|conversation|message)\\s+history\\b|\\ball\\s+(previous|prior)\\s+messages\\b|\\b(your|the)\\s+system\\s+prompt\\b|\\buser\'?s\\s+last\\s+message\\b|\\beverything\\s+the\\s+user\\s+(said|wrote|typed|asked)|\\bwhat\\s+the\\s+user\\s+(said|wrote|typed)\\s+(earlier|before)|\\bprior\\s+user\\s+messages\\b') },
  { rule: 'exfiltration-url', re: folded('\\b(send|post|upload|forward|transmit|copy|report|bcc|cc|mail|email|redirect|relay|leak|exfiltrate)\\b[^.\\n]{0,80}(https?:\\/\\/|\\b[\\w.+-]+@[\\w-]+\\.[\\w.]+|\\+\\d[\\d ]{6,})|\\bchange\\s+the\\s+recipient\\b|\\b(webhook\\.site|requestbin|pipedream\\.net|ngrok\\.(io|app)|burpcollaborator|interact\\.sh|oast\\.)') },
] as const satisfies ReadonlyArray<{ rule: RuleId; re: RegExp }>;

/** Rule 2: text written to steer the model rather than describe the tool. Matched after folding. */
export function poisoning(s: ManifestString, emit: Emit): void {
  if (s.kind === 'key') {
    if (/^(side_?note|.*conversation.*|.*transcript.*|chat_?(history|log)|system_?prompt|(previous|prior)_?messages|context_?dump|history)$/i.test(s.text)) {
      emit('context-harvesting', s, `the parameter ${JSON.stringify(s.text)} asks for context a tool should not need`, s.text);
    }
    return;
  }
  if (!s.prose) return;
  // Each rule reads the folded text (look-alikes undone) and the plain text (for characters the
  // fold merges, such as "|"), and reports the first match.
  const targets = [fold(s.text), s.text.normalize('NFKC').toLowerCase(), s.text.normalize('NFKC')];
  for (const { rule, re } of ADDRESS_MODEL) {
    const once = new RegExp(re.source, re.flags.replace('g', ''));
    for (const target of targets) {
      const m = once.exec(target);
      if (m) {
        // Show the original text (not the folded one) where the lengths line up.
        const shown = target.length === s.text.length ? s.text : s.text.normalize('NFKC').length === target.length ? s.text.normalize('NFKC') : target;
        emit(rule, s, RULES[rule].summary, excerptAround(shown, m.index, m[0].length));
        break;
      }
    }
  }
  const text = s.text.normalize('NFKC');
  // URLs with placeholders for data, or query strings built from context, are exfiltration channels.
  const templated = /https?:\/\/[^\s)]*(\{[^}]{1,80}\}|<[^>]{1,40}>|\$\{)/.exec(text);
  if (templated) emit('exfiltration-url', s, 'a URL with a placeholder for data to be filled in by the model', excerptAround(text, templated.index, templated[0].length));
  const image = /!\[[^\]]{0,200}\]\(\s*<?https?:\/\/|<img\b[^>]*\bsrc\s*=\s*["']?https?:\/\//i.exec(text);
  if (image) emit('markdown-image', s, RULES['markdown-image'].summary, excerptAround(text, image.index, image[0].length));
  const blob = /[A-Za-z0-9+/]{100,}={0,2}|\b[0-9a-fA-F]{96,}\b/.exec(text);
  if (blob) emit('encoded-blob', s, `${RULES['encoded-blob'].summary} (${blob[0].length} characters)`, `${blob[0].slice(0, 24)}…`);
  const pad = /[ \t\u00a0\u2000-\u200a\u3000]{40,}|(\r?\n[ \t]*){12,}/.exec(text);
  if (pad) emit('whitespace-padding', s, `${RULES['whitespace-padding'].summary} (${pad[0].length} characters)`, excerptAround(text, pad.index, 8));
  const mixed = mixedScriptWord(text);
  if (mixed) emit('mixed-script-words', s, `the word ${JSON.stringify(safeExcerpt(mixed))} mixes Latin with look-alike letters of another script`, mixed);
}

/** A word that mixes Latin letters with Cyrillic or Greek ones (homoglyph obfuscation). */
function mixedScriptWord(text: string): string | undefined {
  for (const word of text.match(/[\p{L}\p{M}]+/gu) ?? []) {
    if (/\p{Script=Latin}/u.test(word) && /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u.test(word)) return word;
  }
  return undefined;
}

const SECRET_PATTERNS: Array<[string, RegExp]> = [
  ['a private key', /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/],
  ['an AWS access key id', /\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/],
  ['a GitHub token', /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b/],
  ['a Slack token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ['a Stripe key', /\b(sk|rk)_live_[0-9a-zA-Z]{20,}/],
  ['an Anthropic or OpenAI key', /\bsk-(ant-|proj-)?[A-Za-z0-9_-]{20,}/],
  ['a Google API key', /\bAIza[0-9A-Za-z_-]{35}\b/],
  ['an npm token', /\bnpm_[A-Za-z0-9]{36}\b/],
  ['a JSON Web Token', /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/],
  ['a URL with credentials', /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]{6,}@/i],
  ['a password or key written out', /\b(password|passwd|pwd|api[_-]?key|secret[_-]?key|access[_-]?token)\s*(is\s*)?[:=]\s*["']?(?=[^\s"'<{]{8,})(?=\S*[0-9!@#$%^&*])[^\s"'<{]{8,}/i],
];

/** Rule 3: secrets, anywhere in the manifest; high-entropy strings where a configured value goes. Never echoed. */
export function secrets(s: ManifestString, emit: Emit): void {
  if (s.kind === 'key') return;
  for (const [what, re] of SECRET_PATTERNS) {
    if (re.test(s.text)) return emit('secret-in-manifest', s, `this looks like ${what}; secrets never belong in a signed manifest (use an input with isSecret)`, `[redacted ${s.text.length} characters]`);
  }
  if (s.secretBearing && looksRandom(s.text)) {
    emit('secret-in-manifest', s, 'this configured value is a long high-entropy string, probably a secret; use an input with isSecret instead', `[redacted ${s.text.length} characters]`);
  }
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

function excerptAround(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 20);
  return safeExcerpt(text.slice(start, Math.min(text.length, index + Math.max(length, 1) + 40)));
}
