import compare from 'semver/functions/compare.js';
import valid from 'semver/functions/valid.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersions, ManifestError, newestVersion, parseReference, serverNameProblem, sortNewestFirst, versionProblem } from './index.js';

describe('server names', () => {
  // Mixed case as the official server.json schema allows, in names published on the official registry.
  it.each(['io.github.acme/weather', 'com.example.tools/a', 'io.github.a-b/x.y_z-1', 'io.github.acme/' + 'a'.repeat(185), 'io.github.ChromeDevTools/chrome-devtools-mcp', 'io.github.GLips/Figma-Context-MCP'])('accepts %s', (name) => {
    expect(serverNameProblem(name)).toBeUndefined();
  });
  it.each(['', 'weather', 'io/weather', 'io.github.acme/', '/weather', 'io.github.acme/we ather', 'io..github/x', 'io.github.-acme/x', 'iо.github.acme/x', 'io.github.acme/' + 'a'.repeat(186), 'io.github.acme/.hidden'])(
    'refuses %j',
    (name) => {
      expect(serverNameProblem(name)).toMatch(/namespace|name/);
    },
  );
});

describe('versions', () => {
  it.each(['0.0.1', '1.2.0', '1.0.0-alpha.1', '10.20.30-rc.1.2'])('accepts %s', (v) => {
    expect(versionProblem(v)).toBeUndefined();
  });
  it.each(['latest', 'v1.0.0', '1.0', '~1.0.0', '>=1.0.0', '1.0.0 - 2.0.0', '1.x', '*', '', '1.0.0+build.5'])('refuses %j', (v) => {
    expect(versionProblem(v)).toBeDefined();
  });
  it.each(['1.0.0', '0.0.0', '01.0.0', '1.00.0', '1.0.0 ', ' 1.0.0', '1.0.0\n', '=1.0.0', '999999999999999.0.0', '1000000000000000.0.0', '9007199254740991.0.0', '9007199254740992.0.0', '1.999999999999999.1'])(
    'takes %j exactly when semver.valid() gives it back unchanged (the plain-version shortcut included)',
    (v) => {
      expect(versionProblem(v) === undefined).toBe(valid(v) === v);
    },
  );
  it('orders by SemVer precedence', () => {
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
  });
  it('orders plain versions as semver does (the numeric shortcut), and mixed ones by semver', () => {
    const parts = ['0', '1', '2', '9', '10', '11', '99', '100', '999999999999999'];
    const versions = ['1.0.0-rc.1', '1.0.0-alpha', '2.0.0-0', '10.0.0-beta.2'];
    for (let i = 0; i < 60; i++) versions.push(Array.from({ length: 3 }, (_, k) => parts[(i * 7 + k * 13 + i * k) % parts.length]).join('.'));
    const differ = [];
    for (const a of versions) for (const b of versions) if (compareVersions(a, b) !== compare(a, b)) differ.push(`${a} ${b}`);
    expect(differ).toEqual([]);
  });
});

describe('newest first', () => {
  // Plain versions near the shortcut's edges (15 digits, leading zeros, other characters) and
  // SemVer versions it leaves to semver (pre-releases, build metadata, which ties in precedence).
  const part = fc.constantFrom('0', '1', '2', '9', '10', '01', '00', '999999999999999', '1000000000000000', '9007199254740991', 'a', '', ' 1', '1 ', '1e1', '٣');
  const plainish = fc.tuple(part, part, part).map((p) => p.join('.'));
  const semverTail = fc.constantFrom('', '', '', '-rc.1', '-alpha', '-0', '+build.5', '+b', '-rc.1+x', '.0', '\n');
  const version = fc.tuple(plainish, semverTail).map(([a, b]) => a + b).filter((v) => valid(v) === v);
  const list = fc.array(version, { maxLength: 12 }).map((l) => l.map((v, i) => ({ version: v, i })));

  it('orders as a stable sort by compareVersions does, ties in the order given', () => {
    fc.assert(
      fc.property(list, (items) => {
        const expected = [...items].sort((a, b) => compareVersions(b.version, a.version));
        expect(sortNewestFirst([...items])).toEqual(expected);
        expect(newestVersion(items)).toBe(expected[0]);
      }),
      { numRuns: 1000 },
    );
  });
  it('takes the first of equal precedence, and nothing from an empty list', () => {
    const a = { version: '1.0.0+a' };
    const b = { version: '1.0.0+b' };
    expect(newestVersion([a, b])).toBe(a);
    expect(newestVersion([b, a])).toBe(b);
    expect(newestVersion([])).toBeUndefined();
    expect(sortNewestFirst([{ version: '1.9.0' }, { version: '1.10.0-rc.1' }, { version: '1.10.0' }])).toEqual([{ version: '1.10.0' }, { version: '1.10.0-rc.1' }, { version: '1.9.0' }]);
  });
});

describe('references', () => {
  it('parses name@version', () => {
    expect(parseReference('io.github.acme/weather@1.2.0')).toEqual({ name: 'io.github.acme/weather', version: '1.2.0' });
  });
  it.each([
    ['io.github.acme/weather', 'VERSION_INVALID'],
    ['io.github.acme/weather@latest', 'VERSION_INVALID'],
    ['io.github.acme/weather@^1.0.0', 'VERSION_INVALID'],
    ['Acme/weather@1.0.0', 'NAME_INVALID'],
  ])('refuses %s with %s', (ref, code) => {
    expect(() => parseReference(ref)).toThrow(ManifestError);
    try {
      parseReference(ref);
    } catch (e) {
      expect((e as ManifestError).code).toBe(code);
    }
  });
});
