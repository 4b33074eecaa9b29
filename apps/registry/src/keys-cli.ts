import { resolve } from 'node:path';
import { createKeyFiles, loadRegistryKeys } from './keys.js';
import { keyFingerprint } from './services/check-registry-keys.js';
import { formatVerifierKey, logOrigin } from '@sigil/tlog';

// `sigil-registry keys init <dir> [--log-url URL]`: makes the registry's keys once, for every
// instance of a registry on PostgreSQL to be given the same (docs/deploy.md, "Keys").
const USAGE = 'usage: sigil-registry keys init <dir> [--log-url <SIGIL_TLOG_URL>]';

async function main(args: string[]): Promise<number> {
  const [verb, dirArg, ...rest] = args;
  if (verb !== 'init' || dirArg === undefined || dirArg.startsWith('-')) {
    process.stderr.write(`sigil-registry: error USAGE: ${USAGE}\n`);
    return 2;
  }
  let logUrl = 'http://localhost/v1/log';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--log-url' && rest[i + 1] !== undefined) logUrl = rest[++i]!;
    else {
      process.stderr.write(`sigil-registry: error USAGE: unknown argument ${rest[i]}; ${USAGE}\n`);
      return 2;
    }
  }
  const dir = resolve(dirArg);
  const created = await createKeyFiles(dir);
  const keys = await loadRegistryKeys(dir);
  process.stdout.write(
    [
      created.length > 0 ? `created ${created.join(', ')} in ${dir} (private keys 0600, directories 0700; tsa-ca/ holds the TSA's CA key: keep it offline, no instance needs it)` : `${dir} already holds every key; nothing created`,
      `status key  ${keys.statusFingerprint}   (give every instance SIGIL_STATUS_KEY_FILE=${dir}/status.key)`,
      `log key     ${keyFingerprint(keys.logPublicKey)}   ${formatVerifierKey(logOrigin(logUrl), keys.logPublicKey)}   (SIGIL_LOG_KEY_FILE=${dir}/log.key)`,
      `TSA         SIGIL_TSA_KEY_FILE=${dir}/tsa/tsa.key SIGIL_TSA_CHAIN_FILE=${dir}/tsa/chain.pem`,
      '',
    ].join('\n'),
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(3)).catch((e: unknown) => {
  const code = (e as { code?: unknown }).code;
  process.stderr.write(`sigil-registry: error ${typeof code === 'string' ? code : 'INTERNAL'}: ${(e as Error).message}\n`);
  return 1;
});
