import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { checkManifest, checkManifestValue, LIMITS, ManifestError, parseManifest, refusalCode, SERVER_INFO_META_KEY, Tool } from './index.js';
import { TOOL_KEYS } from './parse.js';

const vectorText = readFileSync(new URL('../test-vectors/weather.sigil.json', import.meta.url), 'utf8');
const base = (): Record<string, unknown> => JSON.parse(vectorText) as Record<string, unknown>;
/** The test vector without its packages: a manifest the plain manifest test reads in full. */
const bare = (): Record<string, unknown> => {
  const { packages: _packages, ...rest } = base();
  return rest;
};
const tool = (i: number, description = `Tool number ${i}.`) => ({
  name: `tool_${i}`,
  description,
  inputSchema: { type: 'object', properties: {} },
});

function codes(input: string): string[] {
  return checkManifest(input).findings.map((f) => f.rule);
}

describe('a valid manifest', () => {
  it('parses, with no findings', () => {
    const check = checkManifest(vectorText);
    expect(check.findings).toEqual([]);
    expect(check.manifest?.name).toBe('io.github.acme/weather');
  });

  it('accepts bytes as well as text', () => {
    expect(checkManifest(new TextEncoder().encode(vectorText)).manifest).toBeDefined();
  });

  it('accepts server.json documents of the official registry plus tools', () => {
    const minimal = { name: 'io.github.example/minimal', description: 'A minimal server', version: '0.1.0', tools: [] };
    const remote = {
      $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
      name: 'com.example.tools/remote',
      title: 'Remote',
      description: 'A remote server',
      version: '2.0.0-rc.1',
      icons: [{ src: 'https://example.com/icon.png', mimeType: 'image/png', sizes: ['48x48'] }],
      remotes: [
        {
          type: 'streamable-http',
          url: 'https://{tenant}.example.com/mcp',
          headers: [{ name: 'Authorization', description: 'Bearer token', isRequired: true, isSecret: true }],
          variables: { tenant: { description: 'Tenant id', isRequired: true } },
        },
      ],
      _meta: { 'io.modelcontextprotocol.registry/publisher-provided': { tool: 'publisher-cli', version: '1.2.3' } },
      tools: [tool(1)],
    };
    const withPackage = {
      name: 'io.github.example/pkg',
      description: 'With a package',
      version: '1.0.0',
      packages: [
        {
          registryType: 'oci',
          identifier: 'docker.io/example/server:1.0.0',
          runtimeHint: 'docker',
          transport: { type: 'stdio' },
          runtimeArguments: [{ type: 'named', name: '--mount', value: 'type=bind,src={source_path},dst=/data', isRequired: true }],
          packageArguments: [{ type: 'positional', valueHint: 'target_dir', value: '/project' }],
        },
      ],
      tools: [],
    };
    for (const doc of [minimal, remote, withPackage]) {
      expect(checkManifest(JSON.stringify(doc)).findings).toEqual([]);
    }
  });
});

describe('when the input is bad', () => {
  it.each([
    ['acme/weather', 'NAME_INVALID'],
    ['io.github.acme/weather/extra', 'NAME_INVALID'],
    ['io.github.acme/-weather', 'NAME_INVALID'],
    ['io.github.acme/' + 'a'.repeat(186), 'NAME_INVALID'],
    [42, 'NAME_INVALID'],
  ] as const)('refuses the name %j with %s', (name, code) => {
    const check = checkManifest(JSON.stringify({ ...base(), name }));
    expect(check.manifest).toBeUndefined();
    expect(check.findings).toContainEqual(expect.objectContaining({ path: '/name', rule: code }));
    expect(refusalCode(check.findings)).toBe('NAME_INVALID');
  });

  it.each(['v1.2.0', 'latest', '^1.2.0', '1.2', '1.2.x', '=1.2.0', '01.2.0', ' 1.2.0'])('refuses the version %j with VERSION_INVALID', (version) => {
    const check = checkManifest(JSON.stringify({ ...base(), version }));
    expect(check.findings).toContainEqual(expect.objectContaining({ path: '/version', rule: 'VERSION_INVALID' }));
    expect(refusalCode(check.findings)).toBe('VERSION_INVALID');
  });

  it('refuses unknown keys at the top and in a tool, each with its path', () => {
    const doc = base();
    doc.extra = true;
    (doc.tools as Array<Record<string, unknown>>)[1]!.hidden = 'x';
    const check = checkManifest(JSON.stringify(doc));
    expect(check.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/extra', rule: 'KEY_UNKNOWN' }),
        expect.objectContaining({ path: '/tools/1/hidden', rule: 'KEY_UNKNOWN' }),
      ]),
    );
  });

  it('refuses 129 tools with TOOLS_TOO_MANY', () => {
    const doc = { ...base(), tools: Array.from({ length: LIMITS.tools + 1 }, (_, i) => tool(i)) };
    const check = checkManifest(JSON.stringify(doc));
    expect(check.findings).toEqual([expect.objectContaining({ path: '/tools', rule: 'TOOLS_TOO_MANY' })]);
    expect(refusalCode(check.findings)).toBe('MANIFEST_TOO_LARGE');
  });

  it('accepts exactly 128 tools', () => {
    const doc = { ...base(), tools: Array.from({ length: LIMITS.tools }, (_, i) => tool(i)) };
    expect(checkManifest(JSON.stringify(doc)).findings).toEqual([]);
  });

  it('refuses a 9 KiB description with DESCRIPTION_TOO_LONG at its path', () => {
    const doc = { ...base(), tools: [tool(0), tool(1, 'x'.repeat(9 * 1024))] };
    expect(checkManifest(JSON.stringify(doc)).findings).toEqual([
      expect.objectContaining({ path: '/tools/1/description', rule: 'DESCRIPTION_TOO_LONG' }),
    ]);
  });

  it('counts description bytes, not characters', () => {
    // 3000 characters of 3 bytes each: under 8192 characters but over 8 KiB.
    const doc = { ...base(), tools: [tool(0, '€'.repeat(3000))] };
    expect(codes(JSON.stringify(doc))).toEqual(['DESCRIPTION_TOO_LONG']);
  });

  it('refuses an over-long description inside a tool input schema', () => {
    const t = { ...tool(0), inputSchema: { type: 'object', properties: { a: { type: 'string', description: 'y'.repeat(8193) } } } };
    expect(checkManifest(JSON.stringify({ ...base(), tools: [t] })).findings).toEqual([
      expect.objectContaining({ path: '/tools/0/inputSchema/properties/a/description', rule: 'DESCRIPTION_TOO_LONG' }),
    ]);
  });

  it('refuses 100,000-deep nesting with JSON_TOO_DEEP before parsing', () => {
    const deep = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    const check = checkManifest(deep);
    expect(check.findings).toEqual([expect.objectContaining({ rule: 'JSON_TOO_DEEP' })]);
    expect(refusalCode(check.findings)).toBe('MANIFEST_TOO_LARGE');
  });

  it('refuses nesting one past the limit and accepts it at the limit', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const at = { ...base(), _meta: { x: JSON.parse(nest(LIMITS.depth - 2)) as unknown } };
    expect(checkManifest(JSON.stringify(at)).findings).toEqual([]);
    const over = JSON.stringify({ ...base(), _meta: { x: JSON.parse(nest(LIMITS.depth - 1)) as unknown } });
    expect(codes(over)).toEqual(['JSON_TOO_DEEP']);
  });

  it('does not count brackets inside strings as nesting', () => {
    const doc = { ...base(), instructions: '['.repeat(1000) + '{'.repeat(1000) };
    expect(checkManifest(JSON.stringify(doc)).findings).toEqual([]);
  });

  it('refuses truncated JSON with JSON_INVALID', () => {
    expect(codes(vectorText.slice(0, vectorText.length / 2))).toEqual(['JSON_INVALID']);
  });

  it.each(['[]', '"a string"', 'null', '42', 'true'])('refuses the non-object %s at the top', (text) => {
    expect(codes(text)).toEqual(['MANIFEST_INVALID']);
  });

  it('refuses a malformed serverInfo record (sigil run pins it), and accepts a well-formed one', () => {
    for (const bad of [{ name: 'x' }, { name: '', version: '1' }, { name: 'x', version: '1', icons: [] }, 'x', { name: 'x', version: '1', title: 3 }]) {
      const check = checkManifestValue({ ...base(), _meta: { [SERVER_INFO_META_KEY]: bad } });
      expect(check.manifest).toBeUndefined();
      expect(check.findings).toEqual([expect.objectContaining({ path: '/_meta/dev.sigil~1serverInfo', rule: 'MANIFEST_INVALID' })]);
    }
    expect(checkManifestValue({ ...base(), _meta: { [SERVER_INFO_META_KEY]: { name: 'weather', version: '1.2.0', title: 'Weather' } } }).manifest).toBeDefined();
  });

  it('refuses duplicate tool names', () => {
    const doc = { ...base(), tools: [tool(1), tool(2), tool(1)] };
    expect(checkManifest(JSON.stringify(doc)).findings).toEqual([expect.objectContaining({ path: '/tools/2/name', rule: 'TOOL_DUPLICATE' })]);
  });

  it('refuses duplicate object keys, which JSON.parse would silently collapse', () => {
    const text = vectorText.replace('"title": "Acme Weather",', '"title": "Acme Weather", "title": "Other",');
    expect(checkManifest(text).findings).toEqual([expect.objectContaining({ path: '/title', rule: 'JSON_DUPLICATE_KEY' })]);
    const escaped = '{"name":"io.github.acme/x","na\\u006de":"io.github.acme/y"}';
    expect(codes(escaped)).toContain('JSON_DUPLICATE_KEY');
  });

  it('refuses a manifest over 256 KiB before parsing it', () => {
    const doc = { ...base(), _meta: { pad: 'x'.repeat(LIMITS.manifestBytes) } };
    expect(codes(JSON.stringify(doc))).toEqual(['MANIFEST_TOO_LARGE']);
  });

  it('refuses invalid UTF-8 bytes and lone surrogates', () => {
    expect(codes(new Uint8Array([0x7b, 0xff, 0x7d]) as unknown as string)).toEqual(['JSON_INVALID']);
    const doc = vectorText.replace('Acme Weather', 'Acme \\ud800 Weather');
    expect(checkManifest(doc).findings).toEqual([expect.objectContaining({ path: '/title', rule: 'STRING_INVALID' })]);
  });

  it('reports every finding, not just the first', () => {
    const doc = { ...base(), name: 'Bad Name', version: 'v1', extra: 1, tools: [tool(1), tool(1, 'z'.repeat(9000))] };
    const found = new Set(codes(JSON.stringify(doc)));
    expect(found).toEqual(new Set(['NAME_INVALID', 'VERSION_INVALID', 'KEY_UNKNOWN', 'TOOL_DUPLICATE', 'DESCRIPTION_TOO_LONG']));
  });

  it('throws only ManifestError from parseManifest, carrying the contract code and all findings', () => {
    try {
      parseManifest(JSON.stringify({ ...base(), version: 'latest' }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as ManifestError).code).toBe('VERSION_INVALID');
      expect((e as ManifestError).findings.length).toBeGreaterThan(0);
    }
  });
});

describe('property: the parser never throws', () => {
  it('returns findings for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const check = checkManifest(text);
        expect(check.manifest === undefined || check.findings.every((f) => f.severity !== 'error')).toBe(true);
      }),
      { numRuns: 500 },
    );
    // 500 parses take about a second; a loaded 2-core CI machine needs more than the 5 s default.
  }, 60_000);

  it('returns findings for arbitrary JSON and mutations of a valid manifest', () => {
    const valid = base();
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(...Object.keys(valid), 'tools', 'extra'), (junk, key) => {
        expect(() => checkManifest(JSON.stringify(junk) ?? 'null')).not.toThrow();
        expect(() => checkManifest(JSON.stringify({ ...valid, [key]: junk }))).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but ManifestError from parseManifest', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseManifest(text);
        } catch (e) {
          expect(e).toBeInstanceOf(ManifestError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('when a manifest is checked as a value (checkManifestValue)', () => {
  // The value path checks in place; it must find exactly what the text path finds.
  const deep = (n: number): unknown => (n === 0 ? 'leaf' : { d: deep(n - 1) });
  const cases: Array<[string, () => Record<string, unknown>]> = [
    ['the test vector', base],
    ['a lone surrogate in a string', () => ({ ...base(), title: 'Acme \ud800 Weather' })],
    ['a lone surrogate in a key', () => ({ ...base(), _meta: { ['k\udc00']: 1 } })],
    ['nesting past the bound', () => ({ ...base(), _meta: { x: deep(40) } })],
    ['an unknown key', () => ({ ...base(), extra: 1 })],
    ['too many tools', () => ({ ...base(), tools: Array.from({ length: LIMITS.tools + 1 }, (_, i) => tool(i)) })],
    ['a long schema description', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'object', properties: { a: { type: 'string', description: 'é'.repeat(5000) } } } }] })],
    ['a JSON value inside tool schemas', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'object', properties: { a: { type: 'string', default: null, enum: [1, 'b', true, { c: [null] }] } } } }] })],
    ['an invalid name and version', () => ({ ...base(), name: 'Bad Name', version: 'v1' })],
    ['too large', () => ({ ...base(), _meta: { pad: 'x'.repeat(LIMITS.manifestBytes) } })],
    // Tools the plain-tool test takes, and tools it must leave to zod.
    ['tools with every optional field', () => ({ ...base(), tools: [{ ...tool(1), title: 'T', outputSchema: { type: 'object', required: ['a'], $defs: { x: 1 } }, annotations: { title: 'A', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }, _meta: { k: [1] } }] })],
    ['a tool name off the pattern', () => ({ ...base(), tools: [{ ...tool(1), name: 'bad name' }] })],
    ['an unknown key in a tool', () => ({ ...base(), tools: [{ ...tool(1), extra: 1 }] })],
    ['a tool without a description', () => ({ ...base(), tools: [{ name: 'a', inputSchema: { type: 'object' } }] })],
    ['a numeric tool title', () => ({ ...base(), tools: [{ ...tool(1), title: 1 }] })],
    ['an input schema of another type', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'array' } }] })],
    ['an input schema that is an array', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: [] }] })],
    ['properties that are an array', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'object', properties: [] } }] })],
    ['a property named constructor', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'object', properties: { constructor: { type: 'string' } } } }] })],
    ['a property named __proto__', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}') as unknown }] })],
    ['_meta with a constructor string', () => ({ ...base(), tools: [{ ...tool(1), _meta: { constructor: 'x' } }] })],
    ['required holding a number', () => ({ ...base(), tools: [{ ...tool(1), inputSchema: { type: 'object', required: ['a', 1] } }] })],
    ['an unknown annotation', () => ({ ...base(), tools: [{ ...tool(1), annotations: { readOnlyHint: true, sideEffects: false } }] })],
    ['a string hint', () => ({ ...base(), tools: [{ ...tool(1), annotations: { readOnlyHint: 'yes' } }] })],
    ['a tool that is not an object', () => ({ ...base(), tools: [tool(1), 'tool'] })],
    ['tools that are not an array', () => ({ ...base(), tools: { a: tool(1) } })],
    // Manifests the plain manifest test takes (no packages, remotes or icons), and fields it must leave to zod.
    ['no packages: every field the plain test reads', () => ({ ...bare(), _meta: { k: [1] }, repository: { url: 'git+ssh://git@github.com/acme/w.git', source: 'github', id: 'x', subfolder: 'a/b' } })],
    ['no packages, only the required fields', () => ({ name: 'io.github.acme/w', description: 'd', version: '1.0.0', tools: [] })],
    ['no packages, a bad name', () => ({ ...bare(), name: 'io.github.acme/' })],
    ['no packages, a name that is not a string', () => ({ ...bare(), name: 7 })],
    ['no packages, a bad version', () => ({ ...bare(), version: '01.0.0' })],
    ['no packages, no description', () => ({ ...bare(), description: undefined })],
    ['no packages, an empty description', () => ({ ...bare(), description: '' })],
    ['no packages, a description of 100 code points in 200 UTF-16 units', () => ({ ...bare(), description: '\u{1F600}'.repeat(100) })],
    ['no packages, a description of 101 code points', () => ({ ...bare(), description: 'é'.repeat(101) })],
    ['no packages, an empty title', () => ({ ...bare(), title: '' })],
    ['no packages, a title that is not a string', () => ({ ...bare(), title: ['t'] })],
    ['no packages, a $schema with a space', () => ({ ...bare(), $schema: 'https://a.example/x y' })],
    ['no packages, a $schema of another scheme', () => ({ ...bare(), $schema: 'urn:example:schema' })],
    ['no packages, a websiteUrl of scheme ftp', () => ({ ...bare(), websiteUrl: 'ftp://acme.example/' })],
    ['no packages, a websiteUrl with userinfo', () => ({ ...bare(), websiteUrl: 'https://github.com@evil.example/' })],
    ['no packages, a websiteUrl with a bad port', () => ({ ...bare(), websiteUrl: 'https://acme.example:port/' })],
    ['no packages, a websiteUrl past 2,048 characters', () => ({ ...bare(), websiteUrl: `https://acme.example/${'a'.repeat(2048)}` })],
    ['no packages, a repository without source', () => ({ ...bare(), repository: { url: 'https://github.com/acme/w' } })],
    ['no packages, a repository with an unknown key', () => ({ ...bare(), repository: { url: 'https://github.com/acme/w', source: 'github', branch: 'main' } })],
    ['no packages, a repository source past 64', () => ({ ...bare(), repository: { url: 'https://github.com/acme/w', source: 's'.repeat(65) } })],
    ['no packages, a repository id past 255', () => ({ ...bare(), repository: { url: 'https://github.com/acme/w', source: 'github', id: 'i'.repeat(256) } })],
    ['no packages, a repository url of scheme javascript', () => ({ ...bare(), repository: { url: 'javascript:alert(1)', source: 'github' } })],
    ['no packages, a repository that is an array', () => ({ ...bare(), repository: [] })],
    ['no packages, _meta that is an array', () => ({ ...bare(), _meta: [] })],
    ['no packages, _meta with a constructor key', () => ({ ...bare(), _meta: { constructor: 1 } })],
    ['no packages, instructions that are not a string', () => ({ ...bare(), instructions: 1 })],
    ['no packages, instructions past their limit', () => ({ ...bare(), instructions: 'i'.repeat(LIMITS.instructionsBytes + 1) })],
    ['no packages, an unknown key', () => ({ ...bare(), extra: true })],
    ['no packages, a remote', () => ({ ...bare(), remotes: [{ type: 'streamable-http', url: 'https://acme.example/mcp' }] })],
    ['no packages, an icon', () => ({ ...bare(), icons: [{ src: 'https://acme.example/i.png' }] })],
    ['no packages, too many tools', () => ({ ...bare(), tools: Array.from({ length: LIMITS.tools + 1 }, (_, i) => tool(i)) })],
    ['no packages, a long tool description in a small manifest', () => ({ ...bare(), tools: [tool(1, 'é'.repeat(4097))] })],
    ['no packages, a long schema description', () => ({ ...bare(), tools: [{ ...tool(1), inputSchema: { type: 'object', properties: { a: { description: '\u0001'.repeat(1400) } } } }] })],
    ['no packages, a tool named twice', () => ({ ...bare(), tools: [tool(1), tool(1)] })],
  ];
  it.each(cases)('finds what the text path finds: %s', (_label, make) => {
    const value = make();
    const shape = (fs: ReadonlyArray<{ path: string; rule: string; severity: string }>) => fs.map((f) => `${f.severity} ${f.rule} ${f.path}`);
    const byValue = checkManifestValue(value);
    const byText = checkManifest(JSON.stringify(value));
    expect(shape(byValue.findings)).toEqual(shape(byText.findings));
    expect(byValue.manifest === undefined).toBe(byText.manifest === undefined);
  });

  it('checks a value that is not plain JSON (undefined, NaN, a Date) as its serialisation', () => {
    const value = { ...base(), title: undefined, _meta: { at: new Date(0), n: Number.NaN } };
    const check = checkManifestValue(value);
    expect(check.findings).toEqual([]);
    expect(check.manifest).toEqual(JSON.parse(JSON.stringify(value)));
    expect(checkManifestValue({ ...base(), _meta: { f: () => 1 } }).manifest).toEqual({ ...base(), _meta: {} });
  });

  it('refuses what is not a JSON value at all', () => {
    expect(checkManifestValue(undefined).findings).toEqual([expect.objectContaining({ rule: 'MANIFEST_INVALID' })]);
    const cyclic: Record<string, unknown> = base();
    cyclic.self = cyclic;
    expect(checkManifestValue(cyclic).findings).toEqual([expect.objectContaining({ rule: 'MANIFEST_INVALID' })]);
  });
});

describe('when the module is loaded', () => {
  // A host evaluates this module at every start, and its locked manifests are plain: the schemas
  // derived for the value path (three `.extend()`s of the wire schemas) are built when first asked.
  it('builds the value path\'s schemas at the first manifest the plain tests leave to zod, once', async () => {
    vi.resetModules();
    const { Manifest } = await import('./schema.js');
    const extend = vi.spyOn(Manifest, 'extend');
    const parse = await import('./parse.js');
    expect(extend).not.toHaveBeenCalled();
    expect(parse.checkManifestValue(bare()).findings).toEqual([]);
    expect(extend).not.toHaveBeenCalled();
    // Its packages: left to zod.
    expect(parse.checkManifestValue(base()).findings).toEqual([]);
    expect(extend).toHaveBeenCalledTimes(1);
    expect(parse.checkManifestValue({ ...bare(), extra: 1 }).findings).toEqual([expect.objectContaining({ rule: 'KEY_UNKNOWN', path: '/extra' })]);
    expect(extend).toHaveBeenCalledTimes(1);
    extend.mockRestore();
  });
});

describe("the plain test's tool keys", () => {
  it("are the tool schema's own", () => {
    expect([...TOOL_KEYS].sort()).toEqual(Object.keys(Tool.shape).sort());
  });
});
