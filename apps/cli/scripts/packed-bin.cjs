#!/usr/bin/env node
/* global __dirname */
// The packed CLI's bin/sigil.js (scripts/pack.mjs writes it, filling in the bundle's SHA-256 and
// encoding below). A host starts `sigil` at every launch, and on Node 20 parsing and compiling the
// bundle was about a third of what a warm `sigil resolve --offline` added to Node's own start;
// Node 20 has no module compile cache, so the bundle is one classic script compiled with V8's
// code cache.
//
// The cache: one file per command (`resolve`, `run`, ...) holding V8's compiled code for what
// that command ran, written after its first successful run. It lives in the user's own cache
// folder ($XDG_CACHE_HOME or ~/.cache, then sigil/code-cache), never a shared temporary one where
// another local user could plant code, and a file there is used only if it is this user's and
// no one else may write it. Its folder is named by the bundle's SHA-256 (taken at pack time),
// Node's version and the CPU architecture, so an upgrade of either never reads an old cache (V8
// also refuses code cached by another V8 or with other flags); its file name carries the
// bundle file's size, inode and change times, so an edited bundle never runs cached code of its
// former self (the way Python's .pyc files are checked, without hashing 3 MB at every start).
// The cache holds compiled code only, never a trust decision: every check the resolver makes runs
// again at every start. NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot be read or
// written only costs speed.
'use strict';
const { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const BUNDLE_SHA256 = '@@BUNDLE_SHA256@@';
/** 'latin1' when the bundle is all ASCII (the same text as UTF-8, decoded for a tenth of the cost). */
const BUNDLE_ENCODING = '@@BUNDLE_ENCODING@@';

const file = join(__dirname, '..', 'dist', 'sigil.bundle.js');
const fd = openSync(file, 'r');
const stat = fstatSync(fd, { bigint: true });
const source = readFileSync(fd).toString(BUNDLE_ENCODING);
closeSync(fd);
const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sigil', 'code-cache');
const build = `${BUNDLE_SHA256.slice(0, 32)}-node${process.version}-${process.arch}`;
const argv = process.argv.slice(2);
const command = argv.find((a) => /^[a-z][a-z-]{0,31}$/.test(a)) ?? '_';
const cacheFile = join(cacheRoot, build, `${command}.${stat.size}.${stat.ino}.${stat.ctimeNs}.${stat.mtimeNs}.v8`);
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
      if (entry.startsWith(`${command}.`) && entry.endsWith('.v8') && join(cacheRoot, build, entry) !== cacheFile) rmSync(join(cacheRoot, build, entry), { force: true });
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
