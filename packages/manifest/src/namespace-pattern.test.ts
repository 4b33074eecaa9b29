import { describe, expect, it } from 'vitest';
import { matchesNamespace, mostSpecificPattern, namespacePatternProblem } from './index.js';

describe('namespace patterns', () => {
  it.each([
    ['io.github.acme', 'io.github.acme/weather', true],
    ['io.github.acme', 'io.github.acme', true],
    ['io.github.acme', 'io.github.acmex/weather', false],
    ['io.github.acme', 'io.github.acme.evil/weather', false],
    ['io.github.*', 'io.github.acme/weather', true],
    ['io.github.*', 'io.github/weather', false],
    ['io.github.*', 'io.githubx.acme/weather', false],
    ['com.*', 'com.example.tools/x', true],
    ['*', 'org.anything/x', true],
    ['IO.github.acme', 'io.github.acme/x', false],
    ['io.*.acme', 'io.github.acme/x', false],
  ])('%s covers %s: %s', (pattern, name, expected) => {
    expect(matchesNamespace(pattern, name)).toBe(expected);
  });

  it('validates patterns', () => {
    for (const ok of ['io.github.acme', 'com.example.*', 'com.*', '*']) expect(namespacePatternProblem(ok)).toBeUndefined();
    for (const bad of ['', 'acme', '*.example.com', 'io.github.acme/*', 'io..x', 'Io.github.x', '**']) expect(namespacePatternProblem(bad)).toBeDefined();
  });

  it('matches names whatever the case of their namespace', () => {
    expect(mostSpecificPattern(['io.github.chromedevtools'], 'io.github.ChromeDevTools/chrome-devtools-mcp')).toBe('io.github.chromedevtools');
    expect(mostSpecificPattern(['io.github.*'], 'IO.GitHub.Acme/x')).toBe('io.github.*');
  });

  it('picks the most specific pattern', () => {
    expect(mostSpecificPattern(['*', 'io.github.*', 'io.github.acme'], 'io.github.acme/x')).toBe('io.github.acme');
    expect(mostSpecificPattern(['*', 'io.github.*'], 'io.github.acme/x')).toBe('io.github.*');
    expect(mostSpecificPattern(['com.*'], 'io.github.acme/x')).toBeUndefined();
  });
});
