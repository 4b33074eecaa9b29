import { describe, expect, it } from 'vitest';
import { asksVersion, COMMAND_GROUPS, commandGroupsFor, commandOf } from './command-groups.js';

describe('when a command line names a command', () => {
  it('needs that command\'s group only, after global options and their values', () => {
    expect(commandGroupsFor(['resolve', '--offline'])).toEqual(['host']);
    expect(commandGroupsFor(['--json', 'run', 'io.github.acme/notes'])).toEqual(['host']);
    expect(commandGroupsFor(['--registry', 'keygen', 'publish'])).toEqual(['registry']);
    expect(commandGroupsFor(['--field', 'ok', '--token-file', '-', 'ca', 'init'])).toEqual(['signing']);
    expect(commandOf(['--field', 'ok', 'resolve', '--offline'])).toBe('resolve');
    expect(commandOf(['--json', '--', 'resolve'])).toBeUndefined();
  });
});

describe('when a command line asks for help or names no known command', () => {
  it('needs every group', () => {
    for (const argv of [[], ['--help'], ['resolve', '--help'], ['lock', '-h'], ['resolv'], ['constructor'], ['__proto__'], ['--', 'resolve'], ['--token', 'resolve']]) {
      expect(commandGroupsFor(argv)).toEqual([...COMMAND_GROUPS]);
    }
  });
});

describe('when a command line asks for the version', () => {
  it('is --version or -V before the first argument that is not an option', () => {
    for (const argv of [['--version'], ['-V'], ['--json', '--version'], ['--field', '--version', 'x']]) expect(asksVersion(argv)).toBe(true);
    for (const argv of [[], ['manifest', 'init', '--version', '1.0.0'], ['resolve', '-V'], ['--help']]) expect(asksVersion(argv)).toBe(false);
  });
});
