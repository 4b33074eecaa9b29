import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { VERSION, versionOnly } from './version.js';

/** A stream that keeps what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
}

describe('when the command line asks for the version alone', () => {
  it('prints what main prints, as text or JSON, and exits 0', async () => {
    for (const argv of [['--version'], ['-V'], ['--json', '--version']]) {
      const fast = sink();
      const full = sink();
      expect(versionOnly(argv, fast.stream)).toBe(0);
      expect(await main(argv, { stdout: full.stream, stderr: sink().stream })).toBe(0);
      expect(fast.text()).toBe(full.text());
    }
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('when it asks for more than the version', () => {
  it('leaves the command line to main', () => {
    for (const argv of [[], ['resolve', '--offline'], ['--field', 'version', '--version'], ['--version', '--field', 'version'], ['manifest', 'init', '--version', '1.0.0']]) {
      const out = sink();
      expect(versionOnly(argv, out.stream)).toBeUndefined();
      expect(out.text()).toBe('');
    }
  });
});
