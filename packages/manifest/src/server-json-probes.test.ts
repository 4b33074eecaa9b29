import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { checkManifestValue, type Finding } from './index.js';

// Probes generated from the official server.json schema (2025-12-11, vendored with its licence in
// test-vectors/official): every property the schema describes, at every place a full document
// holds it, set to values around its type, bounds, pattern, format and enum, or left out. The
// official schema (ajv) is the oracle in both directions: what it refuses Sigil refuses, and what
// it accepts Sigil accepts unless each refusal is one of the stricter rules docs/manifest.md lists.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: unknown };

const official = JSON.parse(readFileSync(new URL('../test-vectors/official/server.schema.2025-12-11.json', import.meta.url), 'utf8')) as Schema;
const docs = readFileSync(new URL('../../../docs/manifest.md', import.meta.url), 'utf8');
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const accepts = ajv.compile(official);
const definitions = official.definitions as Record<string, Schema>;

/** A server.json with every field of the schema present at least once. */
const FULL: { [key: string]: Json } = {
  $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
  name: 'io.github.acme/probe',
  title: 'Probe',
  description: 'A probe',
  version: '1.0.0',
  websiteUrl: 'https://example.com/probe',
  repository: { url: 'https://github.com/acme/probe', source: 'github', id: '123456', subfolder: 'src/probe' },
  icons: [{ src: 'https://example.com/icon.png', mimeType: 'image/png', sizes: ['48x48', 'any'], theme: 'light' }],
  packages: [
    {
      registryType: 'npm',
      registryBaseUrl: 'https://registry.npmjs.org',
      identifier: '@acme/probe',
      version: '1.0.0',
      fileSha256: 'fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce',
      runtimeHint: 'npx',
      transport: { type: 'stdio' },
      runtimeArguments: [
        { type: 'named', name: '--port', value: '{port}', description: 'Port', isRequired: false, format: 'number', isSecret: false, default: '8080', placeholder: '8080', choices: ['8080', '9090'], isRepeated: false, variables: { port: { description: 'Port', default: '8080' } } },
      ],
      packageArguments: [{ type: 'positional', valueHint: 'file_path', isRepeated: true }],
      environmentVariables: [{ name: 'API_KEY', description: 'The key', isRequired: true, isSecret: true }],
    },
    {
      registryType: 'oci',
      identifier: 'docker.io/acme/probe:1.0.0',
      transport: { type: 'streamable-http', url: 'http://localhost:{port}/mcp', headers: [{ name: 'Authorization', value: 'Bearer {token}', variables: { token: { isSecret: true } } }] },
    },
    { registryType: 'pypi', identifier: 'acme-probe', version: '1.0.0', transport: { type: 'sse', url: 'http://127.0.0.1:8000/sse' } },
  ],
  remotes: [
    { type: 'streamable-http', url: 'https://api.example.com/{tenant}/mcp', headers: [{ name: 'X-Key', isSecret: true, isRequired: true }], variables: { tenant: { description: 'Tenant', choices: ['a', 'b'] } } },
    { type: 'sse', url: 'https://api.example.com/sse' },
  ],
  _meta: { 'io.modelcontextprotocol.registry/publisher-provided': { tool: 'publisher-cli', build: { commit: 'abc' } }, 'com.example/other': [1, 'two'] },
};

const URIS = [
  'https://example.com', 'http://example.com/x?y=1#z', 'HTTPS://EXAMPLE.COM/', 'https://example.com/a b', 'https://例え.jp/', 'https://xn--r8jz45g.jp/',
  'https://example.com/<a>', 'https://example.com/a|b', 'https://example.com/a\\b', 'https://example.com/a^b', 'https://example.com/`', 'https://example.com/%zz', 'https://example.com/%20',
  'https://[::1]/x', 'https://[2001:db8::8a2e:370:7334]:8443/', 'https://[::1', 'https://[v1.x]/', 'https://[1:2:3:4:5:6:7:8:9]/', 'https://a.b:99999/', 'https://a.b:port/',
  'https://user:pw@a.b/', 'https:///x', 'https:x', 'https://', 'https://%00/', 'https://github.com@evil.example/', 'ftp://example.com/x', 'javascript:alert(1)', 'data:image/png;base64,iVBORw0KGgo=', 'file:///etc/passwd',
  'mailto:a@example.com', 'urn:isbn:0451450523', 'git+https://github.com/a/b.git', 'ssh://git@github.com/a/b', 'git://github.com/a/b', '//example.com/x', '/relative', 'example.com',
  '{base_url}/mcp', 'https://api.example.com/{tenant}/mcp', 'https://example.com/?q={x}', 'https://exa_mple.com/', 'http://localhost:3000/mcp', 'https://example.com/\u0000', 'https://example.com/\t',
  `https://example.com/${'a'.repeat(240)}`, `https://example.com/${'a'.repeat(2100)}`, '',
];
const NAMES = [
  'io.github.acme/probe', 'IO.GitHub.Acme/Probe', 'a.b/c', 'a/b', 'ab/c', '-a.b/c', 'a-.b/c', 'a..b/c', '.a.b/c', 'a.b./c', 'io.github.acme/.x', 'io.github.acme/..', 'io.github.acme/_x',
  'io.github.acme/-x', 'io.github.acme/x.', 'io.github.acme/x y', 'io.github.a_b/x', 'io.github.acme/x/y', 'io.github.acme/', '/x', 'io.github.acme/é', `io.github.acme/${'x'.repeat(185)}`,
  `io.github.acme/${'x'.repeat(186)}`, `${'a'.repeat(64)}.com/x`, `${'a'.repeat(63)}.com/x`, 'io.github.acme/x\n',
];
const VERSIONS = ['1.0.0', '0.0.0', '1.0', '1', 'v1.0.0', '1.0.0-rc.1', '1.0.0-alpha.01', '1.0.0+build.1', '^1.0.0', '~1.2.3', '>=1.2.3', '1.x', 'latest', '', '2025.01.01', '01.0.0', '1.0.0 ', 'x'.repeat(255), 'x'.repeat(256)];
const STRINGS = ['', 'a', ' ', 'a b', 'é', '😀', '{x}', 'a/b', 'ABC', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(256), 'x'.repeat(1025), '48x48', 'any', '0x0', 'any ', '١٢x١٢', 'f'.repeat(64), 'F'.repeat(64), 'f'.repeat(63)];

const deref = (s: Schema): Schema => (typeof s.$ref === 'string' ? deref(definitions[s.$ref.replace('#/definitions/', '')]!) : s);

/** The sub-schemas a value may meet at one place: a ref, an allOf's parts, every anyOf branch. */
function parts(s: Schema): Schema[] {
  const d = deref(s);
  return [d, ...((d.allOf as Schema[] | undefined) ?? []).flatMap(parts), ...((d.anyOf as Schema[] | undefined) ?? []).flatMap(parts)];
}

/** Candidate values for one property schema (merged over its parts), all judged by the oracle. */
function candidates(s: Schema, key: string): Json[] {
  const ps = parts(s);
  const out: Json[] = [1, true, null, [], {}];
  for (const p of ps) {
    if (Array.isArray(p.enum)) for (const v of p.enum as string[]) out.push(v, v.toUpperCase(), `${v}-other`);
    if (p.type === 'string' || p.format || p.pattern) {
      out.push(...STRINGS);
      if (typeof p.maxLength === 'number') out.push('x'.repeat(p.maxLength), 'x'.repeat(p.maxLength + 1), '😀'.repeat(p.maxLength), '😀'.repeat(p.maxLength + 1), 'é'.repeat(p.maxLength));
      if (p.format === 'uri' || typeof p.pattern === 'string') out.push(...URIS);
      if (key === 'name' && typeof p.pattern === 'string') out.push(...NAMES);
      if (key === 'version') out.push(...VERSIONS);
    }
    if (p.type === 'boolean') out.push(false, 'true', 0);
  }
  return [...new Set(out.map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v) as Json);
}

interface Probe {
  label: string;
  doc: { [key: string]: Json };
}

/** Walks FULL beside the schema, proposing changes to every property of every object it meets. */
function probes(): Probe[] {
  const out: Probe[] = [];
  const walk = (schema: Schema, value: Json, path: Array<string | number>, set: (v: Json | undefined) => { [key: string]: Json }) => {
    const ps = parts(schema);
    if (Array.isArray(value)) {
      const item = ps.find((p) => p.items)?.items as Schema | undefined;
      out.push({ label: `${path.join('.')} = []`, doc: set([]) }, { label: `${path.join('.')} x40`, doc: set(Array.from({ length: 40 }, () => value[0]!)) });
      if (item) value.forEach((v, i) => walk(item, v, [...path, i], (nv) => set(value.map((x, j) => (j === i ? nv : x)).filter((x) => x !== undefined) as Json[])));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const props = new Map<string, Schema>();
    for (const p of ps) for (const [k, v] of Object.entries((p.properties as Record<string, Schema> | undefined) ?? {})) if (!props.has(k)) props.set(k, v);
    const additional = ps.find((p) => typeof p.additionalProperties === 'object')?.additionalProperties as Schema | undefined;
    const object = value;
    const setKey = (k: string) => (nv: Json | undefined) => {
      const copy = { ...object };
      if (nv === undefined) delete copy[k];
      else copy[k] = nv;
      return set(copy);
    };
    out.push({ label: `${path.join('.')} + unknown key`, doc: set({ ...object, 'x-unknown': 'x' }) });
    for (const [k, s] of props) {
      out.push({ label: `${[...path, k].join('.')} absent`, doc: setKey(k)(undefined) });
      for (const c of candidates(s, k)) out.push({ label: `${[...path, k].join('.')} = ${JSON.stringify(c).slice(0, 60)}`, doc: setKey(k)(c) });
      if (object[k] !== undefined) walk(s, object[k]!, [...path, k], setKey(k));
    }
    if (additional) {
      for (const [k, v] of Object.entries(object)) if (!props.has(k)) walk(additional, v, [...path, k], setKey(k));
      for (const k of ['', 'x', 'a b', 'x'.repeat(300)]) out.push({ label: `${path.join('.')} + variable ${JSON.stringify(k).slice(0, 20)}`, doc: setKey(k)({ description: 'v' }) });
    }
  };
  walk(official, FULL, [], (v) => v as { [key: string]: Json });
  return out;
}

/**
 * The stricter rules of docs/manifest.md ("Compatibility with server.json"), each by the text of
 * its row and the findings it makes: a refusal of a document the official schema accepts must be
 * one of these, every finding of it.
 */
const STRICTER: Array<{ row: string; finding: (f: Finding) => boolean }> = [
  { row: 'Version is exact SemVer 2.0.0 without build metadata', finding: (f) => f.rule === 'VERSION_INVALID' && f.path === '/version' },
  { row: 'Namespace is reverse-DNS with at least two DNS-shaped labels', finding: (f) => f.rule === 'NAME_INVALID' && f.message.includes('namespace') },
  { row: 'Server part starts with a letter or digit', finding: (f) => f.rule === 'NAME_INVALID' && f.message.includes('server name') },
  { row: 'Objects are strict', finding: (f) => f.rule === 'KEY_UNKNOWN' },
  { row: 'URL schemes', finding: (f) => f.rule === 'MANIFEST_INVALID' && /with scheme .*, not "/.test(f.message) },
  { row: 'An http(s) URL has a host, not percent-encoded, and no userinfo', finding: (f) => f.rule === 'MANIFEST_INVALID' && f.message.startsWith('an http(s) URL') },
  { row: 'A URI\'s port is a number', finding: (f) => f.rule === 'MANIFEST_INVALID' && f.message.endsWith('the port after the host is not a number') },
  { row: 'Bounds on counts and sizes', finding: (f) => f.rule === 'MANIFEST_INVALID' && f.message.startsWith('Too big') },
];

function sigil(doc: { [key: string]: Json }) {
  return checkManifestValue({ ...doc, tools: [] });
}

/** Findings by which Sigil refuses a document the official schema accepts, outside the rows above. */
function undocumentedRefusals(doc: { [key: string]: Json }): Finding[] {
  return sigil(doc).findings.filter((f) => f.severity === 'error' && !STRICTER.some((r) => r.finding(f)));
}

const vector = (path: string) => JSON.parse(readFileSync(new URL(`../test-vectors/${path}`, import.meta.url), 'utf8')) as unknown;

describe('when real server.json files are checked by the official schema and by Sigil', () => {
  // Published by MCP server repositories (test-vectors/real-server-json, with their licences) and
  // the official registry's seed (test-vectors/official).
  const real = [
    ...(vector('real-server-json/documents.json') as Array<{ source: { repo: string }; document: { [key: string]: Json } }>).map((d) => ({ label: d.source.repo, doc: d.document })),
    ...(vector('official/seed.json') as Array<{ [key: string]: Json }>).map((doc) => ({ label: `seed ${String(doc.name)}@${String(doc.version)}`, doc })),
  ];

  it.each(real)('$label: the official schema accepts it, and Sigil accepts it or refuses it only by a listed stricter rule', ({ doc }) => {
    expect(accepts(doc), JSON.stringify(accepts.errors)).toBe(true);
    expect(undocumentedRefusals(doc)).toEqual([]);
  });

  it('accepts most of them as they are', () => {
    expect(real.filter(({ doc }) => sigil(doc).manifest !== undefined).length).toBeGreaterThanOrEqual(real.length - 3);
  });
});

describe('when probes generated from the official server.json schema are checked by it and by Sigil', () => {
  const all = probes();

  it('makes many probes, of both verdicts', () => {
    const verdicts = all.map((p) => accepts(p.doc));
    expect(accepts(FULL), JSON.stringify(accepts.errors)).toBe(true);
    expect(sigil(FULL).findings).toEqual([]);
    expect(all.length).toBeGreaterThan(1500);
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(300);
    expect(verdicts.filter((v) => !v).length).toBeGreaterThan(300);
  });

  it('refuses every probe the official schema refuses', () => {
    const accepted = all.filter((p) => !accepts(p.doc) && sigil(p.doc).manifest !== undefined).map((p) => p.label);
    expect(accepted).toEqual([]);
  });

  it('accepts every probe the official schema accepts, unless a documented stricter rule refuses it', () => {
    const undocumented: string[] = [];
    for (const p of all) {
      if (!accepts(p.doc)) continue;
      for (const f of undocumentedRefusals(p.doc)) undocumented.push(`${p.label}: ${f.path} ${f.rule} ${f.message}`);
    }
    expect(undocumented).toEqual([]);
  });

  it('lists each stricter rule it relies on in docs/manifest.md, and each one refuses some probe', () => {
    for (const rule of STRICTER) expect(docs, rule.row).toContain(`| ${rule.row}`);
    const used = new Set<string>();
    for (const p of all) if (accepts(p.doc)) for (const f of sigil(p.doc).findings) for (const r of STRICTER) if (r.finding(f)) used.add(r.row);
    expect([...used].sort()).toEqual(STRICTER.map((r) => r.row).sort());
  });
});
