import type { Manifest } from '@sigil/manifest';
import type { LintFinding } from './finding.js';
import { hiddenText, poisoning, RULES, secrets, type RuleId } from './rules.js';
import { manifestStrings } from './walk.js';

export interface LintOptions {
  /** Warning rules a registry raises to errors (a registry setting). */
  errorRules?: readonly string[];
  /** Most findings reported (default 500). */
  maxFindings?: number;
}

/**
 * Lints every string of a manifest: hidden and control text (errors), poisoning patterns
 * (warnings, matched after NFKC and confusable folding), secrets (errors). Pure and
 * deterministic: the same manifest gives the same findings, in document order.
 * @example
 * const findings = lintManifest(manifest);
 * if (hasErrors(findings)) refuse('LINT_BLOCKED', findings);
 */
export function lintManifest(manifest: Manifest, options: LintOptions = {}): LintFinding[] {
  const raised = new Set(options.errorRules ?? []);
  const max = options.maxFindings ?? 500;
  const findings: LintFinding[] = [];
  const seen = new Set<string>();
  const emit = (rule: RuleId, s: { path: string; text: string }, message: string, excerpt?: string): void => {
    const key = `${rule} ${s.path}`;
    if (seen.has(key) || findings.length >= max) return;
    seen.add(key);
    const severity = RULES[rule].severity === 'error' || raised.has(rule) ? 'error' : 'warning';
    findings.push({ path: s.path, rule, severity, message, excerpt: excerpt ?? '' });
  };
  for (const s of manifestStrings(manifest)) {
    hiddenText(s, emit);
    secrets(s, emit);
    poisoning(s, emit);
  }
  return findings;
}
