#!/usr/bin/env node
// `sigil-registry` starts the registry, configured by its environment; `sigil-registry keys init <dir>`
// makes its keys once (docs/deploy.md); `--help` and `--version` print and exit; anything else is
// wrong usage (exit 2), never a start.
import { readFileSync } from 'node:fs';
import { invocation, USAGE } from '../dist/usage.js';

const asked = invocation(process.argv.slice(2));
if (asked.run === 'start') await import('../dist/main.js');
else if (asked.run === 'keys') await import('../dist/keys-cli.js');
else if (asked.run === 'help') process.stdout.write(USAGE);
else if (asked.run === 'version') process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
else {
  process.stderr.write(`sigil-registry: error USAGE: ${asked.message}\n${USAGE}`);
  process.exitCode = 2;
}
