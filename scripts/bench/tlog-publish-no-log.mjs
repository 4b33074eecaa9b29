// Loaded with `node --import` by tlog-publish.mjs for its baseline: the registry's append-log
// module is replaced by one that logs nothing (no entry bodies, no append, no checkpoint), so the
// same publish pipeline runs without the transparency log. Never used by the registry itself.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

const TARGET = '/apps/registry/dist/services/append-log.js';

export async function load(url, context, next) {
  if (!url.endsWith(TARGET)) return next(url, context);
  // Local exports shadow the star re-export of the real module (loaded under another URL).
  const source = `export * from ${JSON.stringify(`${url}?with-log`)};
export function bundleLogEntries() { return []; }
export async function appendLog() {}
export async function logAppended() {}
`;
  return { format: 'module', source, shortCircuit: true };
}
