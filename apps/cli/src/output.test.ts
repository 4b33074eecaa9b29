import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { createOutput, pickField, plural } from './output.js';

function sink(tty: boolean): Writable & { text: string; isTTY?: boolean } {
  const s = new Writable({
    write(chunk: Buffer, _enc, done) {
      s.text += chunk.toString('utf8');
      done();
    },
  }) as Writable & { text: string; isTTY?: boolean };
  s.text = '';
  if (tty) s.isTTY = true;
  return s;
}

describe('progress', () => {
  it('shows on a terminal after a second, and clears its line', async () => {
    const stderr = sink(true);
    const out = createOutput({ json: false, stdout: sink(false), stderr });
    const stop = out.progress('waiting for the server');
    await new Promise((r) => setTimeout(r, 1300));
    stop();
    expect(stderr.text).toContain('waiting for the server');
    expect(stderr.text.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('prints nothing when stderr is not a terminal, or with --json, or for a short wait', async () => {
    for (const [tty, json] of [[false, false], [true, true]] as const) {
      const stderr = sink(tty);
      const stop = createOutput({ json, stdout: sink(false), stderr }).progress('slow');
      await new Promise((r) => setTimeout(r, 1100));
      stop();
      expect(stderr.text).toBe('');
    }
    const stderr = sink(true);
    createOutput({ json: false, stdout: sink(false), stderr }).progress('quick')();
    expect(stderr.text).toBe('');
  });
});

describe('--field', () => {
  it('prints one field, strings bare, and refuses a missing one with FIELD_MISSING', () => {
    const stdout = sink(false);
    createOutput({ json: false, field: 'token', stdout, stderr: sink(false) }).result({ token: 'abc', id: 'x' }, 'human');
    expect(stdout.text).toBe('abc\n');
    expect(pickField({ servers: [{ digest: 'sha256:1' }] }, 'servers.0.digest')).toBe('sha256:1');
    expect(() => pickField({ token: 'a' }, 'tokn')).toThrow(CliError);
    expect(() => pickField({ a: { b: 1 } }, 'a.b.c')).toThrow(/no field "a.b.c"/);
  });
});

describe('plural', () => {
  it('says 1 error and 2 errors', () => {
    expect(plural(1, 'error')).toBe('1 error');
    expect(plural(0, 'error')).toBe('0 errors');
    expect(plural(2, 'approval')).toBe('2 approvals');
  });
});

describe('text from elsewhere on its way to the terminal', () => {
  // What a hostile registry or server may put in any field: CSI, OSC (sets the window title),
  // C1 CSI, a bidi override, a zero-width space, a line separator, a tag character.
  const hostile = 'a\u001b[41mb\u001b]0;PWNED\u0007c\u009bd\u202ee\u200bf\u2028g\u{E0041}h';
  const drives = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

  it('never reaches it raw: human lines, notes, errors, raw text, --field and --json alike', () => {
    const stdout = sink(false);
    const stderr = sink(false);
    const out = createOutput({ json: false, stdout, stderr });
    out.result({ name: hostile }, `name ${hostile}\ttab\nnext line`);
    out.note(`note ${hostile}`);
    out.error(`error ${hostile}\n`);
    out.raw(`${JSON.stringify({ raw: hostile })}\n`);
    expect(stdout.text + stderr.text).not.toMatch(drives);
    // Newlines and tabs are the CLI's own layout and stay.
    expect(stdout.text).toContain('\ttab\nnext line');
    // JSON stays JSON, with the same value: the escape means the same character.
    expect(JSON.parse(stdout.text.split('\n').at(-2)!)).toEqual({ raw: hostile });
    for (const options of [{ json: true }, { json: false, field: 'name' }]) {
      const s = sink(false);
      createOutput({ ...options, stdout: s, stderr: sink(false) }).result({ name: hostile }, 'unused');
      expect(s.text).not.toMatch(drives);
      if (options.json) expect(JSON.parse(s.text)).toEqual({ name: hostile });
    }
  });
});
