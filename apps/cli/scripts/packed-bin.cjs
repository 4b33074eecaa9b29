#!/usr/bin/env node
/* global __dirname */
// The packed CLI's bin/sigil.js (scripts/pack.mjs writes it, filling in the bundles' SHA-256,
// their encoding and the command-group rule below). A host starts `sigil` at every launch, and on
// Node 20 parsing and compiling the bundle was about a third of what a warm `sigil resolve
// --offline` added to Node's own start; Node 20 has no module compile cache, so a bundle is one
// classic script compiled with V8's code cache. There is one bundle per command group beside the
// whole one, and a command starts the bundle of its group.
//
// The cache: one file per command (`resolve`, `run`, ...) and bundle holding V8's compiled code
// for what that command ran, written after its first successful run. Compiled code is code: it
// lives in the user's own state folder ($XDG_STATE_HOME if absolute, else ~/.local/state, then
// sigil/code-cache, beside the resolver's seal key), never a shared temporary one where another
// local user could plant it, nor the cache folder, which CI systems save and restore (a restored
// cache would be this user's files); a file there is used only if it is this user's and no one
// else may write it. Its folder is named by the bundles' SHA-256 (taken at pack time),
// Node's version and the CPU architecture, so an upgrade of either never reads an old cache (V8
// also refuses code cached by another V8 or with other flags); its file name carries the
// bundle file's size, inode and change times, so an edited bundle never runs cached code of its
// former self (the way Python's .pyc files are checked, without hashing 3 MB at every start).
// The cache holds compiled code only, never a trust decision (the resolver's kept signature
// results are sealed under a key of the user's own, in another folder).
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot be read or written only costs
// speed.
'use strict';
const { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { isAbsolute, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const BUNDLE_SHA256 = '@@BUNDLE_SHA256@@';
/** 'latin1' when the bundles are all ASCII (the same text as UTF-8, decoded for a tenth of the cost). */
const BUNDLE_ENCODING = '@@BUNDLE_ENCODING@@';

// apps/cli/src/command-groups.ts, compiled (scripts/pack.mjs puts it here): the rule by which
// main.ts loads command groups, so the bundle started holds every group the command line loads.
const { asksVersion, commandGroupsFor, commandOf } = (() => {
  const module = { exports: {} };
  /* @@COMMAND_GROUPS@@ */
  return module.exports;
})();

const argv = process.argv.slice(2);
/** The groups with a bundle of their own (filled in at pack time). */
const SEPARATE_GROUPS = [/* @@SEPARATE_GROUPS@@ */];
// A command of such a group starts that group's bundle (`resolve` reads 0.76 MB, not 3 MB);
// any other command line (help, no command, an unknown one) the whole bundle, `all`.
// `--version` loads no group at all (main answers it first), so the smallest bundle serves it.
const groups = asksVersion(argv) ? SEPARATE_GROUPS.slice(0, 1) : commandGroupsFor(argv);
const bundleName = groups.length === 1 && SEPARATE_GROUPS.includes(groups[0]) ? groups[0] : 'all';
const file = join(__dirname, '..', 'dist', bundleName === 'all' ? 'sigil.bundle.js' : `sigil.${bundleName}.bundle.js`);
const fd = openSync(file, 'r');
const stat = fstatSync(fd, { bigint: true });
const source = readFileSync(fd).toString(BUNDLE_ENCODING);
closeSync(fd);
const stateHome = process.env.XDG_STATE_HOME;
const cacheRoot = join(stateHome && isAbsolute(stateHome) ? stateHome : join(homedir(), '.local', 'state'), 'sigil', 'code-cache');
const build = `${BUNDLE_SHA256.slice(0, 32)}-node${process.version}-${process.arch}`;
const named = commandOf(argv);
const command = named !== undefined && /^[a-z][a-z-]{0,31}$/.test(named) ? named : '_';
const cacheFile = join(cacheRoot, build, `${command}.${bundleName}.${stat.size}.${stat.ino}.${stat.ctimeNs}.${stat.mtimeNs}.v8`);
const useCache = process.env.NODE_DISABLE_COMPILE_CACHE !== '1';
const cachedData = useCache ? readCache() : undefined;

const script = new vm.Script(source, {
  filename: file,
  cachedData,
  // The bundle imports nothing at run time but Node built-ins; import() goes to Node's own loader.
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const bundleModule = { exports: {} };
script.runInThisContext()(bundleModule.exports, createRequire(file), bundleModule, file, join(__dirname, '..', 'dist'), pathToFileURL(file).href);

bundleModule.exports.main(argv).then((code) => {
  process.exitCode = code;
  if (code === 0 && useCache && (cachedData === undefined || script.cachedDataRejected)) saveCache();
});

/** The cached code, if it is a file of this user's that no one else may write (read through the descriptor it was checked on). */
function readCache() {
  let cacheFd;
  try {
    cacheFd = openSync(cacheFile, 'r');
    const cacheStat = fstatSync(cacheFd);
    // POSIX owner and mode; Windows reports neither (a user's profile folder is private there).
    const foreign = process.platform !== 'win32' && ((process.getuid !== undefined && cacheStat.uid !== process.getuid()) || (cacheStat.mode & 0o022) !== 0);
    if (!cacheStat.isFile() || foreign) return undefined;
    return readFileSync(cacheFd);
  } catch {
    return undefined;
  } finally {
    if (cacheFd !== undefined) closeSync(cacheFd);
  }
}

/**
 * Writes the compiled code of this run (a whole file, then renamed: never half a cache) and drops
 * what no start will read again: this command's caches of the bundle file as it was before, and
 * the folders of other bundles or Node versions not written for a week (an upgraded sigil's;
 * two installs in use at once do not evict each other).
 */
function saveCache() {
  try {
    mkdirSync(join(cacheRoot, build), { recursive: true, mode: 0o700 });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, cacheFile);
    for (const entry of readdirSync(join(cacheRoot, build))) {
      if (entry.startsWith(`${command}.${bundleName}.`) && entry.endsWith('.v8') && join(cacheRoot, build, entry) !== cacheFile) rmSync(join(cacheRoot, build, entry), { force: true });
    }
    const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
    for (const entry of readdirSync(cacheRoot)) {
      const other = join(cacheRoot, entry);
      if (entry !== build && statSync(other).mtimeMs < weekAgo) rmSync(other, { recursive: true, force: true });
    }
  } catch {
    // Only speed is lost.
  }
}
