// `sigil-registry`'s own arguments. The registry is configured by its environment (docs/api.md,
// "Running it"); its command line only chooses what to run, so an argument it
// does not know is wrong usage (exit 2), never a start: `sigil-registry --help` started a registry.

export const USAGE = `usage: sigil-registry                 start the registry, configured by its environment (HOST, PORT,
                                      SIGIL_DATA_DIR, SIGIL_DATABASE_URL, …: every setting is in
                                      docs/api.md, "Running it"; several instances: docs/deploy.md)
       sigil-registry keys init <dir> [--log-url <SIGIL_TLOG_URL>]
                                      make the registry's keys once, for every instance (docs/deploy.md, "Keys")
       sigil-registry --help | -h     this text
       sigil-registry --version | -V  the version

examples:
  SIGIL_DATA_DIR=./data PORT=8787 sigil-registry
  sigil-registry keys init ./keys --log-url https://registry.example/v1/log
`;

/** What the arguments after `sigil-registry` ask for. */
export type Invocation = { run: 'start' } | { run: 'keys' } | { run: 'help' } | { run: 'version' } | { run: 'usage-error'; message: string };

export function invocation(args: readonly string[]): Invocation {
  const [first] = args;
  if (first === undefined) return { run: 'start' };
  if (first === 'keys') return { run: 'keys' };
  if (args.length === 1 && (first === '--help' || first === '-h' || first === 'help')) return { run: 'help' };
  if (args.length === 1 && (first === '--version' || first === '-V')) return { run: 'version' };
  return { run: 'usage-error', message: `unknown argument ${quoted(args.join(' ').slice(0, 200))}: the registry takes its settings from its environment (sigil-registry --help)` };
}

/** `text` as a JSON string with every control, format and bidi character escaped (JSON escapes only C0), for a terminal. */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
