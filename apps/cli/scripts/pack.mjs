#!/usr/bin/env node
// `npm run pack:cli`: one installable tarball of the `sigil` command, sigil-cli-<version>.tgz.
//
// The CLI and everything it imports (our workspace packages and their npm dependencies) are
// bundled by esbuild into one file, dist/sigil.bundle.js (and the host commands alone into
// dist/sigil.host.bundle.js, see SEPARATE_GROUPS), so the tarball declares no
// dependencies: `npm install -g ./sigil-cli-<version>.tgz` needs Node.js alone and no registry,
// and never resolves a name on npm (the unscoped `sigil` is someone else's). The bundle is a
// classic script (one function taking CommonJS's arguments), not ES modules: bin/sigil.js
// (scripts/packed-bin.cjs) compiles it with V8's code cache, which Node 20 offers for scripts
// only, and reads it with one synchronous read instead of the module loader's asynchronous ones.
// Command groups stay lazy: each is evaluated only when its command runs. Run after `npm run
// build` (the script does).
//
// Usage: node apps/cli/scripts/pack.mjs [--out <dir>]   (default: the repository root)
import { execFileSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * zod modules that every bundle carried and evaluated at start-up for nothing: `z` is one
 * namespace object our code reads names from, so none of its members can be tree-shaken.
 * - `z.locales`, every locale (about 400 kB of the 750 kB of zod in the bundle): nothing here
 *   calls it; zod's own English messages come from `locales/en.js`, imported directly, which
 *   stays. The namespace becomes empty.
 * - `z.fromJSONSchema` (classic/from-json-schema.js), which builds a zod schema from a JSON Schema
 *   document: nothing in the bundles calls it (neither our code nor a bundled package), yet
 *   evaluating the module copied every export of zod's schemas and checks into an object of its
 *   own and built its keyword tables at every start: callgrind, installed CLI, warm code cache,
 *   `sigil resolve --offline`, 1 server: 314.7 M -> 309.2 M instructions (0.3 to 1 ms timed).
 *   It becomes a function that throws.
 * The pack test checks both are absent from the bundles.
 */
const withoutUnusedZod = {
  name: 'without-unused-zod',
  setup(b) {
    const inZod = (args) => /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer);
    // The same in zod's CommonJS build (.cjs), which the host bundle takes (lazyZodForWorkspace).
    b.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) => (inZod(args) ? { path: 'zod-locales', namespace: 'sigil-zod' } : undefined));
    b.onResolve({ filter: /^\.\/from-json-schema\.c?js$/ }, (args) => (inZod(args) ? { path: 'zod-from-json-schema', namespace: 'sigil-zod' } : undefined));
    b.onLoad({ filter: /^zod-locales$/, namespace: 'sigil-zod' }, () => ({ contents: 'export {};', loader: 'js' }));
    b.onLoad({ filter: /^zod-from-json-schema$/, namespace: 'sigil-zod' }, () => ({
      contents: "export function fromJSONSchema() { throw new Error('the packed sigil has no zod fromJSONSchema'); }",
      loader: 'js',
    }));
  },
};

/**
 * zod evaluated when a schema is first built, not at every start. Our modules defer their schemas
 * (deferSchema) and a warm host start takes its policy, trusted root, records and statuses by the
 * plain tests, so it builds none; yet evaluating zod's modules (its classes, and the namespace
 * objects esbuild makes for `z`) cost about 5 ms of each start. Our workspace modules all import
 * it as `import { z } from 'zod'`; in the bundle they get a `z` whose every read loads zod (esbuild
 * evaluates a module it reaches through `require` at that first call) and answers from zod's own.
 * Nothing else changes: the schemas are the same objects, built by the same zod.
 * - The host bundle, where our modules are zod's only importers, takes zod's CommonJS build
 *   from a file of its own beside it (HOST_ZOD), required at that first read: nothing of zod
 *   runs until then, not even the namespace objects it makes at start-up for an ES module's
 *   exports (10 M of a warm 1-server `sigil resolve --offline`'s 211 M instructions, callgrind),
 *   and its text is not read at all.
 * - The whole bundle takes zod's ES module build, the one the MCP SDK there imports (two zods
 *   would each be evaluated, and schemas of one are not instances of the other's classes).
 * The pack test checks that a warm `sigil resolve --offline` evaluates no zod, and that a policy
 * only zod can judge is refused with zod's own words.
 */
function lazyZodForWorkspace(build) {
  return {
    name: 'lazy-zod-for-workspace',
    setup(b) {
      b.onResolve({ filter: /^zod$/ }, (args) => (/^(packages[\\/][a-z-]+|apps[\\/]cli)[\\/]dist[\\/]/.test(relative(root, args.importer)) ? { path: 'zod', namespace: 'sigil-lazy-zod' } : undefined));
      b.onResolve({ filter: /^sigil-zod-build$/ }, async () => {
        // The host bundle's zod is a file of its own beside it (HOST_ZOD), required at that first read.
        if (build === 'side-file') return { path: `./${HOST_ZOD}`, external: true };
        const found = await b.resolve('zod', { kind: build === 'esm' ? 'import-statement' : 'require-call', resolveDir: root });
        return found.errors.length > 0 ? { errors: found.errors } : { path: found.path };
      });
      b.onLoad({ filter: /.*/, namespace: 'sigil-lazy-zod' }, () => ({
        contents: [
          'let zod;',
          "const real = () => (zod ??= require('sigil-zod-build').z);",
          'export const z = new Proxy({}, { get: (_, key) => real()[key], has: (_, key) => key in real(), ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(real(), key); return d && { ...d, configurable: true }; } });',
        ].join('\n'),
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

/**
 * commander requires `node:child_process` when it loads, for `spawn` alone, which it calls only
 * to run an executable subcommand (sigil has none); loading it brings child_process, dgram and
 * their wrappers into every start of every command (most of the rest it needs, net and streams,
 * a start whose stdout is a pipe loads anyway). In the bundle, commander gets an object whose
 * `spawn` loads `node:child_process` when first read; our own commands that start processes
 * (`run`, `manifest init`) still require it themselves. Measured (callgrind, node --predictable,
 * warm code cache, stdout a pipe): a 1-server `sigil resolve --offline` 799.5 M -> 796.8 M
 * instructions. `node:fs/promises` made lazy the same way (a warm offline start calls none of it)
 * cost more than it saved (798.1 M: the getters, copied into every module importing it), so it
 * stays. The pack test checks that `sigil resolve --offline` loads no child_process.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'sigil-lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'sigil-lazy' }, () => ({
      contents: "'use strict'; module.exports = { get spawn() { return require('node:child_process').spawn; } };",
      loader: 'js',
    }));
  },
};

/**
 * @sigil/manifest's names.ts imports semver's `valid` and `compare` for the versions its plain
 * test cannot decide (a pre-release, anything not `MAJOR.MINOR.PATCH`): a warm host start with
 * plain versions calls neither, but evaluating semver at load built its 40-odd regular
 * expressions (`internal/re.js`) at every start. In the bundle, names.ts gets for each a function
 * that requires the semver module when first called; esbuild evaluates a bundled CommonJS module
 * at its first require, so semver loads only if a version needs it. Same functions, same
 * answers; the pack test resolves a pre-release version (semver's path) with the packed CLI.
 */
const lazySemverForManifest = {
  name: 'lazy-semver-for-manifest',
  setup(b) {
    b.onResolve({ filter: /^semver\/functions\/(valid|compare)\.js$/ }, (args) =>
      /[\\/]packages[\\/]manifest[\\/]dist[\\/]names\.js$/.test(args.importer) ? { path: args.path, namespace: 'sigil-lazy-semver', pluginData: dirname(args.importer) } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'sigil-lazy-semver' }, (args) => ({
      contents: `'use strict'; module.exports = function lazy(...args) { return require(${JSON.stringify(args.path)})(...args); };`,
      loader: 'js',
      // Resolved from @sigil/manifest's folder, as its own import was.
      resolveDir: args.pluginData,
    }));
  },
};

/**
 * sigstore-js's verify side evaluated when a cold path first uses it, not at every start. A warm
 * host start takes every signature result from the store's sealed results (docs/resolver.md) and
 * parses its trusted root by the plain test, so it calls nothing of @sigstore/verify,
 * @sigstore/bundle or @sigstore/protobuf-specs; yet our modules' static imports made the bundle
 * evaluate all three (and protobuf-specs' 50-odd message codecs) at each start. In the host
 * bundle, where @sigil/signing imports them, each becomes a module of the same names whose
 * values load the real package at their first use (esbuild evaluates a bundled CommonJS module
 * at its first require, as for zod above): a function or class is a Proxy that calls or
 * constructs the real one (`instanceof` reads the real `prototype`), an object a Proxy that reads
 * the real one's properties, a string the package's own constant. Properties that are functions
 * are bound to the real owner, so a static method or a namespace's function runs with the real
 * `this`. The names are the packages' own, read here with `require`; the stand-ins are pure, so
 * only those a module imports are made. @sigstore/core stays as it is: @sigil/signing's memoised
 * certificates extend its classes at load.
 *
 * The three packages themselves are a file of their own beside the bundle (HOST_SIGSTORE), as zod
 * is (HOST_ZOD): their 97 kB were read and copied into a string at every warm start for nothing.
 * That file exports one function, given the host bundle's own @sigstore/core (the only package
 * the three share with the rest: `instanceof` across them holds) and called once, at the first use.
 * The pack test runs a cold verification and a refusal mapped from @sigstore/verify's errors with
 * the packed CLI, and checks the host bundle holds none of the three.
 */
const LAZY_SIGSTORE = ['@sigstore/verify', '@sigstore/bundle', '@sigstore/protobuf-specs'];

/** The host bundle's sigstore verify side: LAZY_SIGSTORE's packages, in a file beside it (see above). */
const HOST_SIGSTORE = 'sigil.host.sigstore.js';

function lazySigstoreForWorkspace() {
  const requireFromRoot = createRequire(join(root, 'package.json'));
  return {
    name: 'lazy-sigstore-for-workspace',
    setup(b) {
      b.onResolve({ filter: /^@sigstore\/(verify|bundle|protobuf-specs)$/ }, (args) =>
        /^packages[\\/][a-z-]+[\\/]dist[\\/]/.test(relative(root, args.importer)) ? { path: args.path, namespace: 'sigil-lazy-sigstore' } : undefined,
      );
      // The three packages, from the side file, made once for all three stand-ins.
      b.onResolve({ filter: /^sigil-sigstore-side$/ }, () => ({ path: 'side', namespace: 'sigil-sigstore-side' }));
      b.onLoad({ filter: /.*/, namespace: 'sigil-sigstore-side' }, () => ({
        contents: `let side; module.exports = () => (side ??= require(${JSON.stringify(`./${HOST_SIGSTORE}`)})(require('@sigstore/core')));`,
        loader: 'js',
        resolveDir: root,
      }));
      b.onResolve({ filter: /^\.\/sigil\.host\.sigstore\.js$/ }, (args) => (args.namespace === 'sigil-sigstore-side' ? { path: args.path, external: true } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'sigil-lazy-sigstore' }, (args) => {
        if (!LAZY_SIGSTORE.includes(args.path)) throw new Error(`pack: ${args.path} is not one of LAZY_SIGSTORE`);
        const real = requireFromRoot(args.path);
        const lines = [
          'let real;',
          `const load = () => (real ??= require('sigil-sigstore-side')()[${JSON.stringify(args.path)}]);`,
          'const bound = new WeakMap();',
          // A property that is a function, bound to its real owner once (one identity per property).
          'const read = (owner, key) => { const value = Reflect.get(owner, key); if (typeof value !== "function" || key === "prototype" || key === "constructor") return value; let byKey = bound.get(owner); if (!byKey) bound.set(owner, (byKey = new Map())); let fn = byKey.get(key); if (!fn) byKey.set(key, (fn = value.bind(owner))); return fn; };',
          'const lazy = (name, callable) => { let target; const it = () => (target ??= load()[name]); const proxy = new Proxy(callable ? function () {} : {}, {',
          '  get: (_, key) => read(it(), key),',
          '  has: (_, key) => Reflect.has(it(), key),',
          '  set: (_, key, value) => Reflect.set(it(), key, value),',
          '  getPrototypeOf: () => Reflect.getPrototypeOf(it()),',
          '  apply: (_, self, args) => Reflect.apply(it(), self, args),',
          '  construct: (_, args, newTarget) => Reflect.construct(it(), args, newTarget === proxy ? it() : newTarget),',
          '}); return proxy; };',
        ];
        for (const name of Object.keys(real)) {
          if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`pack: ${args.path} exports ${name}, which is not an identifier`);
          const value = real[name];
          if (typeof value === 'function' || (typeof value === 'object' && value !== null)) lines.push(`export const ${name} = /* @__PURE__ */ lazy(${JSON.stringify(name)}, ${typeof value === 'function'});`);
          else if (typeof value === 'string') lines.push(`export const ${name} = ${JSON.stringify(value)};`);
          else throw new Error(`pack: ${args.path}'s ${name} is a ${typeof value}; extend lazySigstoreForWorkspace`);
        }
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

/**
 * esbuild writes non-ASCII characters as escapes everywhere but in String.raw templates, which
 * it must keep as they are; @sigil/lint's multilingual patterns are such templates. A bundle with
 * one non-ASCII character must be decoded as UTF-8 at every start (40 M instructions for 2.9 MB,
 * 5 % of a warm 1-server `sigil resolve --offline`); an ASCII one is read as Latin-1, a copy. In
 * those templates (every one is a RegExp source: `combine` and `compileRules` are their only
 * readers), each non-ASCII UTF-16 unit becomes `\uXXXX`, which a RegExp reads as that very
 * character, in a class or not, with or without the u flag (`SEP` there is written so already).
 * The pack test runs the packed CLI's lint on Russian, Chinese and Japanese text.
 */
const asciiRawTemplates = {
  name: 'ascii-raw-templates',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/]lint[\\/]dist[\\/]patterns\.js$/ }, (args) => ({ contents: escapeRawTemplates(readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};

/** `text` with every non-ASCII unit inside the literal parts of its String.raw templates written as `\uXXXX`. */
function escapeRawTemplates(text) {
  const tag = /String\.raw\s*`/g;
  let out = '';
  let at = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    let i = m.index + m[0].length;
    out += text.slice(at, i);
    for (;;) {
      if (i >= text.length) throw new Error('pack: an unterminated String.raw template in @sigil/lint');
      const c = text[i];
      if (c === '`') break;
      if (c === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else if (c === '$' && text[i + 1] === '{') {
        // A substitution is code: copied as it is, up to its closing brace.
        let depth = 0;
        let j = i + 1;
        for (; j < text.length; j++) {
          const d = text[j];
          if (d === '`') throw new Error('pack: a template inside a String.raw substitution in @sigil/lint; extend escapeRawTemplates');
          if (d === "'" || d === '"') {
            // A string literal in the substitution: skipped whole, escapes included.
            for (j++; j < text.length && text[j] !== d; j++) if (text[j] === '\\') j++;
          } else if (d === '{') depth++;
          else if (d === '}' && --depth === 0) break;
        }
        out += text.slice(i, j + 1);
        i = j + 1;
      } else {
        const unit = c.charCodeAt(0);
        out += unit < 0x80 ? c : `\\u${unit.toString(16).padStart(4, '0')}`;
        i++;
      }
    }
    at = i;
    tag.lastIndex = i + 1;
  }
  return out + text.slice(at);
}

/**
 * Our workspace packages' modules (packages/<name>/dist) run nothing at load but their own
 * declarations (zod schemas, constants, functions; no module is imported for its effects), so a
 * module none of whose exports a bundle uses can be left out, as `"sideEffects": false` in their
 * package.json would tell esbuild. esbuild cannot tell by itself, because a call such as
 * `z.object(...)` might have effects. No bundle then builds the registry API's response schemas
 * (`@sigil/manifest`'s wire/api.js, which no command uses) at start-up: callgrind, installed CLI,
 * warm code cache, `node --predictable`, `sigil resolve --offline`: 1 server 778.6 M -> 761.7 M
 * instructions, 100 servers 1,261.7 M -> 1,247.2 M; the host bundle 760 kB -> 749 kB.
 * The only effect lost is zod's global registry entries (`.meta({ id })`) of schemas left out,
 * which only JSON Schema output reads (the registry's /openapi.json, not the CLI).
 */
const workspaceWithoutSideEffects = {
  name: 'workspace-without-side-effects',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'workspace-without-side-effects' || args.kind === 'entry-point') return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'workspace-without-side-effects' });
      if (resolved.errors.length > 0 || resolved.external || !/^packages[\\/][a-z-]+[\\/]dist[\\/]/.test(relative(root, resolved.path))) return undefined;
      return { ...resolved, sideEffects: false };
    });
  },
};

const cliDir = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(cliDir, '../..');
const outAt = process.argv.indexOf('--out');
const outDir = resolve(outAt > 0 ? process.argv[outAt + 1] : root);
const cli = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * The host commands (`resolve`, `run`, `lock`, `policy`: what a host starts at every launch) get
 * a bundle of their own beside the whole one, 0.76 MB instead of 3.07 MB to read, decode and keep
 * in memory at each start: without the signing side, node-forge, the MCP SDK or the registry
 * client. In it the other groups' modules become a stub that throws; bin/sigil.js never starts it
 * for a command line that loads another group, because it picks the bundle with main.ts's own
 * rule (dist/command-groups.js, copied into the bin below); help, no command or an unknown one
 * start the whole bundle. The other groups would save less (signing 2.6 MB, registry 2.5 MB) for
 * commands no host runs at start-up, so they start the whole bundle.
 */
const SEPARATE_GROUPS = ['host'];

/**
 * The host bundle's zod: its CommonJS build in a file of its own beside the bundle (dist/), which
 * the bundle requires when a schema is first built (lazyZodForWorkspace). A warm host start
 * builds none, and zod was 328 kB of the host bundle's 818 kB: text each start read, copied into
 * a string on V8's young heap and handed to the compiler. A string that large fills most of the
 * young generation's first megabyte by itself, so the start paid for a scavenge or two that
 * copied everything the bundle had made so far (1 to 2 ms each, `node --trace-gc`). Required
 * through Node's own loader, it is compiled without the code cache, only by the starts that
 * build a schema (a cold store, a policy the plain tests leave to zod, a refusal's details).
 */
const HOST_ZOD = 'sigil.host.zod.js';

/**
 * The host bundle's JSON Schema validator (the 2.x MCP client's, `validators/ajv`: ajv and its
 * formats, 0.3 MB), with which `sigil run` holds a pinned tool's structured results to its
 * outputSchema: a file of its own beside the bundle, as zod is, required only by a `sigil run` whose
 * manifest pins an outputSchema (proxy/output-check.ts imports it dynamically; here that import is
 * of a small module the bundle holds, which requires the side file, so no `import()` is left).
 */
const HOST_AJV = 'sigil.host.ajv.js';

const lazyAjvForHost = {
  name: 'lazy-ajv-for-host',
  setup(b) {
    b.onResolve({ filter: /^@modelcontextprotocol\/client\/validators\/ajv$/ }, () => ({ path: 'ajv', namespace: 'sigil-ajv-side' }));
    b.onLoad({ filter: /.*/, namespace: 'sigil-ajv-side' }, () => ({ contents: `module.exports = require(${JSON.stringify(`./${HOST_AJV}`)});`, loader: 'js', resolveDir: root }));
    b.onResolve({ filter: /^\.\/sigil\.host\.ajv\.js$/ }, (args) => (args.namespace === 'sigil-ajv-side' ? { path: args.path, external: true } : undefined));
  },
};

/** HOST_AJV: the 2.x client's ajv validator module as one CommonJS file, checked like the bundles. */
async function hostAjv() {
  const result = await build({
    ...commonOptions(),
    stdin: { contents: "module.exports = require('@modelcontextprotocol/client/validators/ajv');", resolveDir: root, loader: 'js', sourcefile: 'host-ajv.cjs' },
  });
  const bundle = Buffer.from(result.outputFiles[0].contents);
  return { bundle, ascii: bundle.every((byte) => byte < 0x80) };
}

/** What every file of the packed CLI is built with. */
function commonOptions() {
  return {
    // The metafile's input paths (read for the notices) are relative to this.
    absWorkingDir: root,
    write: false,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20.19',
    // Whitespace and comments out, syntax shortened; names kept (messages and checks may read
    // a function's or class's name). 4.2 MB -> 2.9 MB to read at every start.
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
  };
}

/**
 * HOST_SIGSTORE: LAZY_SIGSTORE's packages as one CommonJS file exporting a function that takes the
 * host bundle's @sigstore/core and returns the three packages' exports by name.
 */
async function hostSigstore() {
  const result = await build({
    ...commonOptions(),
    stdin: { contents: `module.exports = { ${LAZY_SIGSTORE.map((p) => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(', ')} };`, resolveDir: root, loader: 'js', sourcefile: 'host-sigstore.cjs' },
    plugins: [
      {
        name: 'core-from-host',
        setup(b) {
          b.onResolve({ filter: /^@sigstore\/core$/ }, () => ({ path: 'core', namespace: 'sigil-host-core' }));
          b.onLoad({ filter: /.*/, namespace: 'sigil-host-core' }, () => ({ contents: 'module.exports = __sigilSigstoreCore;', loader: 'js' }));
        },
      },
    ],
    // One function: its own `module`, so that what esbuild assigns to module.exports is what it returns.
    banner: { js: 'module.exports = function (__sigilSigstoreCore) { var module = { exports: {} }, exports = module.exports;' },
    footer: { js: 'return module.exports; };' },
  });
  const bundle = Buffer.from(result.outputFiles[0].contents);
  // The metafile's inputs are relative to the repository root (node_modules/@sigstore/core/…).
  const inputs = Object.keys(result.metafile.inputs);
  if (inputs.some((input) => /(?:^|[\\/])node_modules[\\/]@sigstore[\\/]core[\\/]/.test(input))) throw new Error(`pack: ${HOST_SIGSTORE} holds a copy of @sigstore/core; it must take the host bundle's`);
  return { bundle, ascii: bundle.every((byte) => byte < 0x80) };
}

/** zod's CommonJS build as one file (HOST_ZOD), checked like the bundles. */
async function hostZod() {
  const result = await build({
    ...commonOptions(),
    stdin: { contents: "module.exports = require('zod');", resolveDir: root, loader: 'js', sourcefile: 'host-zod.cjs' },
    plugins: [withoutUnusedZod],
  });
  const bundle = Buffer.from(result.outputFiles[0].contents);
  return { bundle, metafile: result.metafile, ascii: bundle.every((byte) => byte < 0x80) };
}

function onlyGroup(keep) {
  return {
    name: 'only-group',
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => {
        const group = /([a-z-]+)\.js$/.exec(args.path)[1];
        if (!/[\\/]apps[\\/]cli[\\/]dist[\\/]main\.js$/.test(args.importer) || group === keep) return undefined;
        if (!COMMAND_GROUPS.includes(group)) throw new Error(`pack: main.js imports ./commands/${group}.js, which is not a group of command-groups.ts`);
        return { path: group, namespace: 'sigil-absent-group' };
      });
      b.onLoad({ filter: /.*/, namespace: 'sigil-absent-group' }, (args) => ({
        contents: `export function register${args.path[0].toUpperCase()}${args.path.slice(1)}() { throw new Error('this bundle of the packed sigil has no ${args.path} commands'); }`,
        loader: 'js',
      }));
    },
  };
}

const { COMMAND_GROUPS } = await import(pathToFileURL(join(cliDir, 'dist/command-groups.js')).href);

/** The bundle of `group`'s commands (every group's when undefined), checked. */
async function bundleOf(group) {
  const result = await build({
    ...commonOptions(),
    entryPoints: [join(cliDir, 'dist/main.js')],
    outfile: join(stage, 'dist/sigil.bundle.js'),
    plugins: [...(group === undefined ? [] : [onlyGroup(group)]), ...(group === 'host' ? [lazySigstoreForWorkspace(), lazyAjvForHost] : []), withoutUnusedZod, lazyZodForWorkspace(group === 'host' ? 'side-file' : 'esm'), lazyChildProcessForCommander, lazySemverForManifest, asciiRawTemplates, workspaceWithoutSideEffects],
    // main.js reads ../package.json beside dist/ for --version through import.meta.url.
    define: { 'import.meta.url': '__sigilImportMetaUrl' },
    // One function, strict like the ES modules it was made from; bin/sigil.js calls it.
    banner: { js: "(function (exports, require, module, __filename, __dirname, __sigilImportMetaUrl) {'use strict';" },
    footer: { js: '})' },
  });
  const bundle = Buffer.from(result.outputFiles[0].contents);
  // A dynamic import() left in the bundle (esbuild keeps Node built-ins external) fails once the
  // bundle runs from V8's code cache: the compiled script no longer carries bin/sigil.js's
  // importModuleDynamically ('A dynamic import callback was not specified', seen as INTERNAL on
  // every cached run of `sigil ca register`). Import built-ins statically. The one left is
  // pkce-challenge's fallback behind globalThis.crypto, which Node 20 always has.
  const dynamicImports = bundle.toString('latin1').split('import("').length - 1;
  const unreachable = bundle.toString('latin1').split('globalThis.crypto??import("node:crypto")').length - 1;
  if (dynamicImports !== unreachable) throw new Error(`pack: the bundle has ${dynamicImports - unreachable} dynamic import() call(s), which fail when it runs from the code cache; import them statically`);
  return { bundle, metafile: result.metafile, ascii: bundle.every((byte) => byte < 0x80) };
}

const stage = mkdtempSync(join(tmpdir(), 'sigil-cli-pack-'));
try {
  mkdirSync(join(stage, 'dist'));
  const whole = await bundleOf(undefined);
  writeFileSync(join(stage, 'dist/sigil.bundle.js'), whole.bundle);
  // The bin reads every bundle as Latin-1 only if all are ASCII.
  let ascii = whole.ascii;
  const digests = [hash('sha256', whole.bundle)];
  for (const group of SEPARATE_GROUPS) {
    if (!COMMAND_GROUPS.includes(group)) throw new Error(`pack: ${group} is not a group of command-groups.ts`);
    const one = await bundleOf(group);
    writeFileSync(join(stage, `dist/sigil.${group}.bundle.js`), one.bundle);
    ascii &&= one.ascii;
    digests.push(hash('sha256', one.bundle));
  }
  const sigstore = await hostSigstore();
  writeFileSync(join(stage, 'dist', HOST_SIGSTORE), sigstore.bundle);
  if (!sigstore.ascii) throw new Error(`pack: ${HOST_SIGSTORE} is not all ASCII`);
  const ajv = await hostAjv();
  writeFileSync(join(stage, 'dist', HOST_AJV), ajv.bundle);
  if (!ajv.ascii) throw new Error(`pack: ${HOST_AJV} is not all ASCII`);
  const zod = await hostZod();
  writeFileSync(join(stage, 'dist', HOST_ZOD), zod.bundle);
  if (!zod.ascii) throw new Error(`pack: ${HOST_ZOD} is not all ASCII`);
  if (!ascii) process.stderr.write('pack: a bundle is not all ASCII, so every start decodes it as UTF-8 (slower); see asciiRawTemplates\n');
  // The rule main.ts loads groups by, as a CommonJS snippet that sets module.exports.
  const groupsRule = await build({ entryPoints: [join(cliDir, 'dist/command-groups.js')], write: false, bundle: true, format: 'cjs', platform: 'node', target: 'node20.19', minifyWhitespace: true, logLevel: 'warning' });
  const fill = { '@@BUNDLE_SHA256@@': hash('sha256', digests.join('\n')), '@@BUNDLE_ENCODING@@': ascii ? 'latin1' : 'utf8', '/* @@COMMAND_GROUPS@@ */': groupsRule.outputFiles[0].text, '[/* @@SEPARATE_GROUPS@@ */]': JSON.stringify(SEPARATE_GROUPS) };
  let bin = readFileSync(join(cliDir, 'scripts/packed-bin.cjs'), 'utf8');
  for (const [placeholder, value] of Object.entries(fill)) {
    if (!bin.includes(placeholder)) throw new Error(`pack: packed-bin.cjs has no ${placeholder}`);
    // A function, so that `$&` and the like in the value are not replacement patterns.
    bin = bin.replace(placeholder, () => value);
  }
  mkdirSync(join(stage, 'bin'));
  writeFileSync(join(stage, 'bin/sigil.js'), bin, { mode: 0o755 });
  const manifest = {
    name: cli.name,
    version: cli.version,
    description: cli.description,
    license: rootPkg.license,
    type: 'commonjs',
    bin: { sigil: 'bin/sigil.js' },
    engines: { node: rootPkg.engines.node },
    files: ['bin', 'dist', 'THIRD-PARTY-NOTICES.txt'],
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(stage, 'README.md'),
    `# sigil ${cli.version}\n\nThe Sigil command line: sign, publish and review MCP tool manifests, and pin, verify and run them in agent hosts.\nRun \`sigil --help\`. Host configurations call the installed \`sigil run\` by name or absolute path, never through npx.\n`,
  );
  writeFileSync(join(stage, 'THIRD-PARTY-NOTICES.txt'), notices(whole.metafile));
  execFileSync('npm', ['pack', '--pack-destination', outDir, '--silent'], { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] });
  const tarball = join(outDir, `${cli.name.replace(/^@/, '').replace('/', '-')}-${cli.version}.tgz`);
  process.stdout.write(`wrote ${tarball}\ninstall: npm install -g ${tarball}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** The npm packages bundled into dist/, with their versions and licenses. */
function notices(metafile) {
  const seen = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!m || seen.has(m[1])) continue;
    const pkgDir = input.slice(0, m.index + m[0].length);
    try {
      const pkg = JSON.parse(readFileSync(resolve(root, pkgDir, 'package.json'), 'utf8'));
      seen.set(m[1], `${pkg.name}@${pkg.version}  ${typeof pkg.license === 'string' ? pkg.license : 'see the package'}`);
    } catch {
      seen.set(m[1], `${m[1]}  (license: see the package)`);
    }
  }
  const lines = [...seen.values()].sort();
  return `The sigil bundle (dist/) contains these npm packages, each under its own license:\n\n${lines.join('\n')}\n`;
}
