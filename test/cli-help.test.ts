import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, runSigil } from '@sigil/testing';
import { describe, expect, it } from 'vitest';
import { sigilInProcess } from './sigil-in-process.js';

/** `sigil` in-process through main(); SIGIL_REGISTRY and SIGIL_TOKEN are empty unless `env` sets them. */
function sigil(args: string[], env: NodeJS.ProcessEnv = {}) {
  return sigilInProcess(args, { env });
}

const ENV_TOKEN = 'sigil_envSECRET_0123456789abcdefghijkl';
const FLAG_TOKEN = 'sigil_flagSECRET_0123456789abcdefghijk';

describe('when help is printed with a token in SIGIL_TOKEN or --token', () => {
  const cases: string[][] = [
    ['--help'],
    ['-h'],
    ['help'],
    [],
    ['bogus'],
    ['--bogus'],
    ['token', 'create', '--help'],
    ['token', '--help'],
    ['help', 'lock'],
    ['lock', '--bogus'],
    ['publish'],
    ['review', 'approve', 'x@1.0.0'],
    ['token', 'create', '--role', 'emperor', '--principal', 'p'],
    ['--json', 'bogus'],
    // A token pasted where a command goes: the message echoes the word, never the token.
    [ENV_TOKEN],
    ['lock', `--policy=${ENV_TOKEN}`],
  ];
  for (const args of cases) {
    it(`sigil ${args.join(' ') || '(nothing)'} prints neither token`, async () => {
      for (const run of [await sigil(args, { SIGIL_TOKEN: ENV_TOKEN }), await sigil(['--token', FLAG_TOKEN, ...args], { SIGIL_TOKEN: ENV_TOKEN })]) {
        const printed = run.stdout + run.stderr;
        expect(printed.length).toBeGreaterThan(0);
        expect(printed).not.toContain(ENV_TOKEN);
        expect(printed).not.toContain(FLAG_TOKEN);
        expect(printed).not.toContain('envSECRET');
      }
    });
  }

  it('also in a real process, where commander writes to the real stdout and stderr', async () => {
    for (const args of [['--help'], [], ['nope']]) {
      const run = await runSigil(['--token', FLAG_TOKEN, ...args], { env: { SIGIL_TOKEN: ENV_TOKEN } });
      expect(run.stdout + run.stderr).not.toContain('SECRET');
      expect(run.code).toBe(args[0] === '--help' ? 0 : 2);
    }
  });
});

describe('help', () => {
  it('has --version, examples, and marks required options', async () => {
    const version = await sigil(['--version']);
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const root = await sigil(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain('-V, --version');
    expect(root.stdout).toContain('Examples:');
    const create = await sigil(['token', 'create', '--help']);
    expect(create.stdout).toMatch(/--principal <name>\s+who the token is for \(required\)/);
    expect(create.stdout).toContain('Examples:');
    // A command's own --version (the manifest version) is not taken for sigil's.
    const init = await sigil(['manifest', 'init', '--version', '1.0.0', '--name', 'io.github.acme/x']);
    expect(init.code).toBe(2);
    expect(init.stderr).toContain('give the server command after --');
  });

  it('gives every command a description and examples, a group of commands and each level below it too', async () => {
    // Walked down the whole tree: a group's own --help (sigil manifest --help) had none.
    const seen: string[] = [];
    const walk = async (path: string[]): Promise<void> => {
      const help = await sigil([...path, '--help']);
      const where = path.join(' ') || '(root)';
      expect(help.code, where).toBe(0);
      expect(help.stdout, where).toContain('Examples:');
      seen.push(where);
      // The block after "Commands:" up to the next blank line (a multiline `$` would end it at its first line).
      const after = help.stdout.split('\nCommands:\n')[1];
      const block = after === undefined ? '' : after.split('\n\n')[0]!;
      const subs = [...block.matchAll(/^ {2}([a-z][a-z-]*)\b(.*)$/gm)].map((s) => ({ name: s[1]!, description: s[2]!.trim() })).filter((s) => s.name !== 'help');
      if (path.length > 0) expect(help.stdout.split('\n')[2]?.trim(), `${where} description`).not.toBe('');
      for (const sub of subs) await walk([...path, sub.name]);
    };
    await walk([]);
    expect(seen).toEqual(expect.arrayContaining(['whoami', 'search', 'audit', 'token', 'token create', 'reviewer', 'manifest', 'manifest init']));
  });
});

describe('when the reader of standard output goes away (sigil … | head -1)', () => {
  it('ends as SIGPIPE would end a Unix tool (status 141), with no stack trace', async () => {
    // A pipe whose read end is closed before sigil writes: every write of the help fails (EPIPE).
    const child = spawn(process.execPath, [join(repoRoot(), 'apps/cli/bin/sigil.js'), 'review', 'list', '--help'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SIGIL_TOKEN: '' } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|at /);
    expect(code).toBe(141);
  });
});

describe('when the usage is wrong (an unknown command, a missing option or argument)', () => {
  it('says error USAGE: sentence, as every refusal does, and exits 2; with --json the sentence alone', async () => {
    for (const args of [['frobnicate'], ['keygen'], ['token', 'revoke']]) {
      const run = await sigil(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^error USAGE: \S/m);
      expect(run.stderr).not.toMatch(/^error: /m);
      const json = await sigil([...args, '--json']);
      expect(JSON.parse(json.stdout).error).toEqual({ code: 'USAGE', message: expect.not.stringMatching(/^error/) });
    }
  });
});
