// Which command group (module of commands) each top-level command lives in, and which groups a
// command line needs. Imports nothing: the packed CLI's bin/sigil.js carries a copy of this file
// (scripts/pack.mjs puts it there) to pick the bundle to start, by the very rule main.ts follows
// to load groups, before any bundle is read.

/** The modules that register top-level commands (apps/cli/src/commands/<group>.ts). */
export const COMMAND_GROUPS = ['manifest', 'signing', 'registry', 'host', 'log'] as const;
export type CommandGroup = (typeof COMMAND_GROUPS)[number];

/** The group of each top-level command. */
export const GROUP_OF: Readonly<Record<string, CommandGroup>> = {
  manifest: 'manifest',
  keygen: 'signing',
  ca: 'signing',
  sign: 'signing',
  verify: 'signing',
  provenance: 'signing',
  policy: 'host',
  lock: 'host',
  resolve: 'host',
  run: 'host',
  publish: 'registry',
  review: 'registry',
  revoke: 'registry',
  allowlist: 'registry',
  reviewer: 'registry',
  token: 'registry',
  whoami: 'registry',
  search: 'registry',
  audit: 'registry',
  log: 'log',
};

/**
 * The top-level command `argv` names: its first argument that is neither an option nor a global
 * option's value, before any `--`.
 *
 * @example
 * commandOf(['--field', 'ok', 'resolve', '--offline']); // 'resolve'
 */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--registry' || a === '--token' || a === '--token-file' || a === '--field') i++; // the option's value
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * True when `argv` asks for sigil's version: `--version` or `-V` before its first argument that
 * is not an option (so `manifest init --version 1.0.0` is not). main.ts answers it before it loads
 * any command group.
 *
 * @example
 * asksVersion(['--json', '--version']); // true
 */
export function asksVersion(argv: readonly string[]): boolean {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  return argv.slice(0, first < 0 ? argv.length : first).some((a) => a === '--version' || a === '-V');
}

/**
 * The groups `argv` needs: the one group of the command it names, or every group for help, no
 * command or an unknown one (commander then lists or suggests commands of all groups).
 *
 * @example
 * commandGroupsFor(['--json', 'resolve', '--offline']); // ['host']
 */
export function commandGroupsFor(argv: readonly string[]): CommandGroup[] {
  const first = commandOf(argv);
  const group = first === undefined || !Object.hasOwn(GROUP_OF, first) ? undefined : GROUP_OF[first];
  return group && !argv.includes('--help') && !argv.includes('-h') ? [group] : [...COMMAND_GROUPS];
}
