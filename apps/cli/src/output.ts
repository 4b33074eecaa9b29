import type { Finding } from '@sigil/manifest';

/** Where and how a command prints: human text, or one JSON document on stdout with `--json`. */
export interface Output {
  json: boolean;
  /** A result: a line of text for people, or the value as JSON. */
  result(value: unknown, human: string): void;
  /** A note for people on stderr (never part of `--json` output). */
  note(text: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith('\n') || human === '' ? human : `${human}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
  };
}

/** Shows a string with control and invisible characters escaped, so printing it cannot drive the terminal. */
export function safeText(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u{E0000}-\u{E007F}]/gu, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** One line per finding: severity, path, rule, message, and the excerpt of the original text when there is one. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map((f) => `${f.severity.padEnd(7)} ${safeText(f.path || '/').padEnd(32)} ${safeText(f.rule).padEnd(22)} ${safeText(f.message)}${f.excerpt ? ` [${safeText(f.excerpt)}]` : ''}`)
    .join('\n');
}
