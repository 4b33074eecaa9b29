import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { manifestDigest, mostSpecificPattern, type CaRecord } from '@sigil/manifest';
import {
  certificateFingerprint,
  certificateChainPem,
  createCa,
  generateKeyPair,
  issueLeaf,
  loadSigner,
  readCa,
  readPublicKey,
  signManifestStatement,
  VALIDITY_LIMITS,
  writeCa,
  writeKeyPair,
} from '@sigil/signing/sign';
import { SigningError, STATEMENT_LIMITS, verifyManifestBundle, type VerifiedSigner } from '@sigil/signing/verify';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { MAKE_KEY, readBounded, requireFile, writeAtomic } from '../files.js';
import { safeText } from '../output.js';
import { loadManifest } from './manifest.js';

export function registerSigning(program: Command, ctx: Context): void {
  program
    .command('keygen')
    .description('generate an ECDSA P-256 key pair: <file> (PKCS#8, mode 0600) and <file>.pub (SPKI)')
    .requiredOption('--out <file>', 'private key file; the public key goes to <file>.pub')
    .action(async (opts: { out: string }) => {
      const folder = dirname(resolvePath(opts.out));
      if (!existsSync(folder)) throw new CliError('FILE_UNWRITABLE', `cannot write ${opts.out}: the folder ${folder} does not exist`);
      const pair = generateKeyPair();
      const paths = await signing(() => writeKeyPair(opts.out, pair));
      ctx.out.result({ privateKey: paths.privateKeyPath, publicKey: paths.publicKeyPath, fingerprint: pair.fingerprint }, `wrote ${paths.privateKeyPath} and ${paths.publicKeyPath}\nfingerprint ${pair.fingerprint}`);
    });

  const ca = program.command('ca').description("your organisation's own certificate authority for short-lived signing certificates");
  ca.command('init')
    .description('create a root CA (ECDSA P-256) in a new directory: ca.crt, ca.key (0600), chain.pem')
    .requiredOption('--out <dir>', 'directory for the CA files')
    .option('--name <CN>', 'common name of the CA', 'Sigil CA')
    .addOption(new Option('--days <n>', 'validity in days').default(VALIDITY_LIMITS.defaultCaDays).argParser(days(VALIDITY_LIMITS.caDays)))
    .action(async (opts: { out: string; name: string; days: number }) => {
      const material = await signing(async () => {
        const made = createCa({ name: opts.name, days: opts.days });
        await writeCa(opts.out, made);
        return made;
      });
      const fingerprint = certificateFingerprint(material.certificatePem);
      ctx.out.result({ dir: opts.out, certificate: resolvePath(opts.out, 'ca.crt'), fingerprint }, `created CA ${safeText(opts.name)} in ${opts.out}\nfingerprint ${fingerprint}`);
    });

  program
    .command('provenance')
    .description('sign SLSA v1 provenance for a manifest from the CI environment (GitHub Actions variables)')
    .argument('<manifest>', 'manifest file')
    .requiredOption('--key <file>', 'the build signing key')
    .option('--cert <file.crt>', 'a short-lived certificate for the key (needs --tsa)')
    .option('--tsa <url>', 'RFC 3161 timestamp authority, e.g. <registry>/api/v1/timestamp')
    .requiredOption('--out <bundle>', 'where to write the provenance bundle')
    .action(async (file: string, opts: { key: string; cert?: string; tsa?: string; out: string }) => {
      const { provenanceFromGitHubActions, signProvenance } = await import('@sigil/signing/sign');
      const { manifest } = await loadManifest(file);
      await requireFile(opts.key, 'the signing key', MAKE_KEY);
      const predicate = await signing(() => provenanceFromGitHubActions(ctx.env));
      const signer = await signing(() => loadSigner({ keyPath: opts.key, ...(opts.cert ? { certificatePath: opts.cert } : {}), ...(opts.tsa ? { tsaUrl: opts.tsa } : {}) }));
      const bundle = await signing(() => signProvenance(manifest, predicate, signer));
      await writeAtomic(opts.out, `${JSON.stringify(bundle, null, 2)}\n`);
      ctx.out.result({ bundle: opts.out, builder: predicate.runDetails.builder.id, digest: manifestDigest(manifest) }, `wrote ${opts.out}: SLSA provenance by ${predicate.runDetails.builder.id}`);
    });

  ca.command('register')
    .description("register your organisation CA's public chain with the registry (admin), so leaves under it can sign")
    .requiredOption('--ca <dir>', 'CA directory from sigil ca init (only chain.pem is sent)')
    .action(async (opts: { ca: string }) => {
      const { callRegistry } = await import('../http.js');
      await requireFile(resolvePath(opts.ca, 'chain.pem'), 'the CA chain', 'create the CA with sigil ca init --out <dir>');
      // Certificates only: a chain file with a private key pasted in is refused here, not sent.
      const chain = await signing(async () => certificateChainPem(await readFile(resolvePath(opts.ca, 'chain.pem'), 'utf8')));
      const { body } = await callRegistry<CaRecord>(ctx, 'POST', '/v1/certificate-authorities', { certificates: chain });
      ctx.out.result(body, `registered CA ${body.fingerprint}\nidentities it issues are bound to it with --ca ${opts.ca} (or --ca ${body.fingerprint}) on sigil allowlist add, allowlist add-builder and reviewer add`);
    });

  ca.command('issue')
    .description('issue a short-lived code-signing certificate for a public key, with one identity (SAN)')
    .requiredOption('--ca <dir>', 'CA directory made by `sigil ca init`')
    .requiredOption('--public-key <file.pub>', "the signer's public key (SPKI PEM)")
    .requiredOption('--identity <mailto:…|https://…>', 'the identity: mailto:<email> or an https:// URI')
    .addOption(new Option('--days <n>', 'validity in days').default(VALIDITY_LIMITS.defaultLeafDays).argParser(days(VALIDITY_LIMITS.leafDays)))
    .requiredOption('--out <file.crt>', 'certificate file to write')
    .action(async (opts: { ca: string; publicKey: string; identity: string; days: number; out: string }) => {
      if (!/^(mailto:|https:\/\/)/.test(opts.identity)) throw new UsageError('--identity must be mailto:<email> or an https:// URI');
      await requireFile(resolvePath(opts.ca, 'ca.key'), 'the CA key', 'create the CA with sigil ca init --out <dir>');
      await requireFile(opts.publicKey, 'the public key', MAKE_KEY);
      const pem = await signing(async () => {
        const authority = await readCa(opts.ca);
        const publicKey = await readPublicKey(opts.publicKey);
        return issueLeaf(authority, { publicKey, identity: opts.identity, days: opts.days });
      });
      await writeAtomic(opts.out, pem);
      ctx.out.result({ certificate: opts.out, identity: opts.identity, days: opts.days }, `wrote ${opts.out} for ${safeText(opts.identity)}, valid ${opts.days} days`);
    });

  program
    .command('sign')
    .description('sign a manifest: a Sigstore bundle (DSSE, in-toto statement) with a key, or a key + certificate + TSA timestamp')
    .argument('<manifest>', 'manifest file (sigil.json)')
    .requiredOption('--key <file>', 'private key (PKCS#8 PEM, ECDSA P-256)')
    .option('--cert <file.crt>', 'leaf certificate for the key (needs --tsa)')
    .option('--tsa <url>', 'RFC 3161 timestamp authority (Sigstore API), e.g. the registry URL')
    .requiredOption('--out <bundle>', 'bundle file to write')
    .action(async (file: string, opts: { key: string; cert?: string; tsa?: string; out: string }) => {
      if (opts.cert && !opts.tsa) throw new UsageError('--cert needs --tsa: a certificate-signed bundle only verifies with a trusted timestamp');
      if (opts.tsa) checkUrl(opts.tsa);
      const { manifest } = await loadManifest(file);
      await requireFile(opts.key, 'the private key', MAKE_KEY);
      if (opts.cert) await requireFile(opts.cert, 'the certificate', 'issue one with sigil ca issue');
      const bundle = await signing(async () => {
        const signer = await loadSigner({ keyPath: opts.key, ...(opts.cert ? { certificatePath: opts.cert } : {}), ...(opts.tsa ? { tsaUrl: opts.tsa } : {}) });
        return signManifestStatement(manifest, signer);
      });
      await writeAtomic(opts.out, `${JSON.stringify(bundle, null, 2)}\n`);
      const digest = manifestDigest(manifest);
      ctx.out.result({ bundle: opts.out, name: manifest.name, version: manifest.version, digest }, `signed ${manifest.name}@${manifest.version} (${digest}) -> ${opts.out}`);
    });

  program
    .command('verify')
    .description('verify a manifest bundle against the publisher part of a trust policy')
    .argument('<manifest>', 'manifest file (sigil.json)')
    .requiredOption('--bundle <bundle>', 'Sigstore bundle made by `sigil sign`')
    .requiredOption('--policy <file>', 'trust policy (sigil.policy.json)')
    .action(async (file: string, opts: { bundle: string; policy: string }) => {
      const { manifest } = await loadManifest(file);
      const bundle = await readBounded(opts.bundle, STATEMENT_LIMITS.bundleBytes, 'BUNDLE_INVALID');
      // The policy schema lives in the resolver, one for `sigil verify` and the host commands.
      const { loadPublisherPolicy } = await import('@sigil/resolver');
      const publishers = await loadPublisherPolicy(opts.policy);
      const pattern = mostSpecificPattern(
        publishers.map((p) => p.namespace),
        manifest.name,
      );
      if (pattern === undefined) throw new CliError('SIGNER_UNTRUSTED', `the policy names no publisher for the namespace of ${manifest.name}`);
      const policy = publishers.find((p) => p.namespace === pattern)!.signers;
      const verified = await signing(async () => verifyManifestBundle(bundle, manifest, policy)).catch((e: unknown) => {
        // The policy pins the trusted root of its day: a CA the registry trusts since is not in it.
        if (e instanceof CliError && e.code === 'SIGNER_UNTRUSTED' && e.cause instanceof SigningError && /does not chain/.test(e.message)) {
          throw new CliError(e.code, `${e.message} pinned by ${opts.policy}; if its CA was registered after the policy was made, re-run sigil policy init --force to pin the registry's current trusted root (compare the fingerprints it prints)`, [], 1, { cause: e });
        }
        throw e;
      });
      const digest = manifestDigest(manifest);
      ctx.out.result(
        { verified: true, name: manifest.name, version: manifest.version, digest, namespace: pattern, signer: verified.signer, bundleDigest: verified.bundleDigest },
        `verified ${manifest.name}@${manifest.version} (${digest})\nsigned by ${describeSigner(verified.signer)}`,
      );
    });
}

function describeSigner(signer: VerifiedSigner): string {
  return signer.kind === 'key' ? `key ${signer.keyFingerprint}` : `${safeText(signer.identity)} (certificate from CA ${signer.ca}, timestamped ${signer.signedAt})`;
}

/** Runs library code, turning its coded errors into CLI refusals with the same code. */
async function signing<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SigningError) throw new CliError(e.code, e.message, [], 1, { cause: e });
    throw e;
  }
}

function checkUrl(url: string): void {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new UsageError(`--tsa must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
}

function days(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--days must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}
