export { hasErrors, isHidden, safeExcerpt, type LintFinding } from './finding.js';
export { lintManifest, type LintOptions } from './lint.js';
export { checkNameConfusable, checkToolShadowing, editDistance, nameSkeleton } from './names.js';
export { fold } from './fold.js';
export { RULES, type RuleId } from './rules.js';
