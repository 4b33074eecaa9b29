import { readFileSync } from 'node:fs';
import { asksVersion } from './command-groups.js';
import { createOutput } from './output.js';

/** The CLI's version, from the package.json beside dist/ (in the checkout and in the packed tarball). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/**
 * Answers `sigil --version` (with or without `--json`) as main does, without main.ts and the
 * libraries it imports (zod and the manifest schemas, the resolver, sigstore's verify side): the
 * workspace's bin/sigil.js starts here, and on Node 20 loading those modules unbundled costs
 * most of a second of CPU. Returns the exit code, or undefined when `argv` asks for more than the
 * version alone (`--field`, whose refusals main reports; no `--version`): main then runs.
 *
 * @example
 * const code = versionOnly(['--version']); // prints 0.1.0, returns 0
 */
export function versionOnly(argv: readonly string[], stdout: NodeJS.WritableStream = process.stdout): number | undefined {
  if (!asksVersion(argv) || argv.includes('--field')) return undefined;
  createOutput({ json: argv.includes('--json'), stdout }).result({ version: VERSION }, VERSION);
  return 0;
}
