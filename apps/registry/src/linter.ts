import { checkNameConfusable, checkToolShadowing, lintManifest } from '@sigil/lint';
import type { Linter } from './deps.js';

/** The descriptor lint of @sigil/lint, as the registry runs it at publish. */
export function createLinter(): Linter {
  return {
    lintManifest: (manifest, options) => lintManifest(manifest, { errorRules: options.errorRules }),
    checkName: checkNameConfusable,
    checkShadowing: checkToolShadowing,
  };
}
