import type { Finding } from '@sigil/manifest';
import { CliError } from './errors.js';
import type { TextSink } from './stdio.js';

/** Where and how a command prints: human text, or one JSON document on stdout with `--json`. */
export interface Output {
  json: boolean;
  /**
   * Errors as one JSON document on stdout: with `--json` only. With `--field` alone an error is a
   * human line on stderr, so `X=$(sigil … --field token)` never captures an error as the value.
   */
  jsonErrors: boolean;
  /** A result: a line of text for people, or the value as JSON (or one field of it with `--field`). */
  result(value: unknown, human: string): void;
  /** A note for people on stderr (never part of `--json` output). */
  note(text: string): void;
  /** Text as is on standard output (e.g. a manifest written to stdout). */
  raw(text: string): void;
  /** Text as is on standard error (error lines). */
  error(text: string): void;
  /** Standard error's backlog (TextSink.backlogBytes, whenDrained and backlogMark), where the sink has one. */
  errorBacklog?: { pending(): number; onDrain(callback: () => void): void; mark?(): number } | undefined;
  /**
   * Progress for something that may take more than a second: on stderr, only when stderr is a
   * terminal, so logs and pipes stay clean. Returns the function that ends it.
   */
  progress(text: string): () => void;
}

export interface OutputOptions {
  json: boolean;
  /** `--field a.b`: print only this field of the JSON result (strings bare), for shell scripts. */
  field?: string | undefined;
  stdout?: TextSink;
  stderr?: TextSink;
}

export function createOutput(options: OutputOptions): Output {
  const { json, field } = options;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  return {
    json: json || field !== undefined,
    jsonErrors: json,
    result(value, human) {
      if (field !== undefined) {
        const picked = pickField(value, field);
        stdout.write(inertText(`${typeof picked === 'string' ? picked : JSON.stringify(picked)}\n`));
      } else stdout.write(inertText(json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith('\n') || human === '' ? human : `${human}\n`));
    },
    note(text) {
      stderr.write(inertText(`${text}\n`));
    },
    raw(text) {
      stdout.write(inertText(text));
    },
    error(text) {
      stderr.write(inertText(text));
    },
    errorBacklog:
      options.stderr?.backlogBytes && options.stderr.whenDrained
        ? { pending: () => options.stderr!.backlogBytes!(), onDrain: (callback) => options.stderr!.whenDrained!(callback), ...(options.stderr.backlogMark ? { mark: () => options.stderr!.backlogMark!() } : {}) }
        : undefined,
    progress(text) {
      // Asked only here: whether stderr is a terminal is known once its stream exists (stdio.ts).
      if (stderr.isTTY !== true || json || field !== undefined) return () => undefined;
      const started = Date.now();
      const frames = ['|', '/', '-', '\\'];
      let i = 0;
      const draw = () => stderr.write(`\r${frames[i++ % frames.length]} ${text} ${Math.round((Date.now() - started) / 1000)} s`);
      // Only something that takes more than a second shows progress at all.
      const timer = setInterval(draw, 250);
      const first = setTimeout(draw, 1000);
      return () => {
        clearInterval(timer);
        clearTimeout(first);
        if (Date.now() - started >= 1000) stderr.write('\r\u001b[2K');
      };
    },
  };
}

/** The value at a dotted path (`token`, `servers.0.name`); a missing field is a refusal, not an empty line. */
export function pickField(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) {
      throw new CliError('FIELD_MISSING', `the result has no field ${JSON.stringify(path)}; run the command with --json to see its fields`);
    }
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** `1 error`, `2 errors`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Text about to reach a terminal or a JSON reader, with every character that could drive the
 * terminal (C0 and C1 controls: ESC, CSI, OSC…; format characters: bidi overrides, zero-width;
 * line and paragraph separators; tag characters) written as a JSON escape (`\\u009b`), newlines and
 * tabs kept. In JSON text these can stand only inside strings, where the escape means the same
 * character; in human text a registry's or a server's words cannot rewrite the terminal. Every
 * line the CLI prints goes through it (createOutput), whoever's text it carries.
 */
export function inertText(text: string): string {
  // Printable ASCII, newlines and tabs (most of what the CLI prints) need no look at Unicode's
  // properties, whose tables V8 loads the first time a `\p{…}` expression runs.
  if (PLAIN.test(text)) return text;
  drives ??= new RegExp(`(?![\\n\\t])[${DRIVING}]`, 'gu');
  return text.replace(drives, jsonEscape);
}
const PLAIN = /^[\n\t\x20-\x7e]*$/;
/** Characters that can drive a terminal: controls, format characters, line and paragraph separators, tags. */
const DRIVING = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u{E0000}-\u{E007F}`;
let drives: RegExp | undefined;
let safe: RegExp | undefined;
const jsonEscape = (c: string): string => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/** Shows a string with control and invisible characters escaped, so printing it cannot drive the terminal. */
export function safeText(text: string): string {
  safe ??= new RegExp(`[${DRIVING}]`, 'gu');
  return text.replace(safe, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** One line per finding: severity, path, rule, message, and the excerpt of the original text when there is one. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map((f) => `${f.severity.padEnd(7)} ${safeText(f.path || '/').padEnd(32)} ${safeText(f.rule).padEnd(22)} ${safeText(f.message)}${f.excerpt ? ` [${safeText(f.excerpt)}]` : ''}`)
    .join('\n');
}
