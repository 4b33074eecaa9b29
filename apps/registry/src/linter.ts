import type { Linter } from './deps.js';

/**
 * The descriptor lint, when @sigil/lint is installed and built (it is being built alongside);
 * undefined otherwise, in which case publishes carry no lint findings.
 */
export async function createLinter(): Promise<Linter | undefined> {
  return undefined;
}
