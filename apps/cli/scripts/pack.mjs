#!/usr/bin/env node
// `npm run pack:cli`: one installable tarball of the `sigil` command, sigil-cli-<version>.tgz.
//
// The CLI and everything it imports (our workspace packages and their npm dependencies) are
// bundled by esbuild into one file, dist/sigil.bundle.js, so the tarball declares no
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
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * zod re-exports every locale as the `z.locales` namespace (about 400 kB of the 750 kB of zod in
 * the bundle), and a namespace that is re-exported whole cannot be tree-shaken, so every command
 * paid to compile them at start-up. Nothing here calls `z.locales`: zod's own English messages
 * come from `locales/en.js`, imported directly, which stays. The namespace becomes empty.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'sigil-empty' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'sigil-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

const cliDir = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(cliDir, '../..');
const outAt = process.argv.indexOf('--out');
const outDir = resolve(outAt > 0 ? process.argv[outAt + 1] : root);
const cli = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const stage = mkdtempSync(join(tmpdir(), 'sigil-cli-pack-'));
try {
  const result = await build({
    entryPoints: { 'sigil.bundle': join(cliDir, 'dist/main.js') },
    outdir: join(stage, 'dist'),
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
    plugins: [withoutZodLocales],
    // main.js reads ../package.json beside dist/ for --version through import.meta.url.
    define: { 'import.meta.url': '__sigilImportMetaUrl' },
    // One function, strict like the ES modules it was made from; bin/sigil.js calls it.
    banner: { js: "(function (exports, require, module, __filename, __dirname, __sigilImportMetaUrl) {'use strict';" },
    footer: { js: '})' },
  });
  const bundle = readFileSync(join(stage, 'dist/sigil.bundle.js'));
  const bin = readFileSync(join(cliDir, 'scripts/packed-bin.cjs'), 'utf8')
    .replace('@@BUNDLE_SHA256@@', hash('sha256', bundle))
    .replace('@@BUNDLE_ENCODING@@', bundle.every((b) => b < 0x80) ? 'latin1' : 'utf8');
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
  writeFileSync(join(stage, 'THIRD-PARTY-NOTICES.txt'), notices(result.metafile));
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
