import { appendAudit, bindUnboundIdentities, insertCertificateAuthority, listCertificateAuthorities } from '@sigil/db';
import { buildTrustedRoot, certificateChainPem, certificateFingerprint, type TrustedRootJson } from '@sigil/signing/verify';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { logInstance } from './read-log.js';
import { trustedCas } from './signer-spec.js';

/**
 * Registers an organisation CA (admin only): its PEM chain, issuing CA first and root last.
 * Leaves under it may then sign, for the identities the allowlist names under it. An identity
 * stored without a CA meant the registry's only CA; registering a second one binds every such
 * identity to the first in the same transaction (audited), so the new CA never gains them.
 */
export async function registerCa(deps: Deps, actor: Principal, given: string): Promise<{ fingerprint: string }> {
  let fingerprint: string;
  let chainPem: string;
  try {
    // Certificates only, stored as their blocks: a private key pasted after the chain is refused,
    // never stored beside it.
    chainPem = certificateChainPem(given);
    buildTrustedRoot({ certificateAuthorities: [{ certificates: chainPem }] });
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
    if (!first) throw new Error('no certificate');
    fingerprint = certificateFingerprint(first);
  } catch (cause) {
    const privateKey = /PRIVATE KEY-----/.test(given) ? ': the text holds a private key, which is never taken; send the certificates alone' : '';
    throw new ServiceError('REQUEST_INVALID', `certificates must be a PEM chain of CA certificates, issuing CA first${privateKey}`, {}, { cause });
  }
  const now = nowIso(deps);
  await deps.db.transaction(async (tx) => {
    const before = await listCertificateAuthorities(tx);
    const same = before.find((ca) => ca.fingerprint === fingerprint);
    if (same) {
      // Registered already (`sigil ca register` run twice): nothing changes, nothing is audited. The
      // same issuing CA under another chain would silently keep the first one: refused.
      const chainOf = (pem: string): string | undefined => trustedCas([{ fingerprint, chainPem: pem }]).chains.get(fingerprint)?.join();
      if (chainOf(same.chainPem) === chainOf(chainPem)) return;
      throw new ServiceError('CONFLICT', `the CA ${fingerprint} is registered already, with another chain; its chain is not replaced`);
    }
    const only = before.length === 1 && before[0]!.fingerprint !== fingerprint ? before[0]!.fingerprint : undefined;
    const bound = only ? await bindUnboundIdentities(tx, only) : 0;
    await insertCertificateAuthority(tx, { fingerprint, chainPem, createdAt: now });
    await appendAudit(tx, { actor: actor.name, action: 'ca.register', subject: fingerprint, ...(bound > 0 ? { details: { boundTo: only, identities: bound } } : {}) });
  });
  return { fingerprint };
}

/** The registry's Sigstore trusted root: registered organisation CAs, its own TSA and its transparency log. */
export async function trustedRoot(deps: Deps): Promise<TrustedRootJson> {
  return trustedRootOf(deps, await listCertificateAuthorities(deps.db));
}

/** The trusted root over these registered CAs (as `listCertificateAuthorities` reads them). */
export function trustedRootOf(deps: Deps, cas: ReadonlyArray<{ chainPem: string }>): TrustedRootJson {
  const root = buildTrustedRoot({
    certificateAuthorities: cas.map((c) => ({ certificates: c.chainPem })),
    // The TSA that signs now, then the others (retired ones whose timestamps stored bundles carry, the next one).
    timestampAuthorities: [{ certificates: deps.keys.tsaChainPem, uri: '/api/v1/timestamp' }, ...deps.keys.tsaExtraChainPems.map((certificates) => ({ certificates }))],
  });
  return { ...root, tlogs: [logListing(deps)] };
}

const listings = new WeakMap<Deps['keys'], { url: string; validFrom: string; instance: ReturnType<typeof logInstance> }>();

/** The log's `tlogs` item, built once per log key and URL (every publish and approval reads the trusted root). */
function logListing(deps: Deps): ReturnType<typeof logInstance> {
  const hit = listings.get(deps.keys);
  if (hit && hit.url === deps.settings.tlogUrl && hit.validFrom === deps.keys.logCreatedAt) return hit.instance;
  const instance = logInstance(deps);
  listings.set(deps.keys, { url: deps.settings.tlogUrl, validFrom: deps.keys.logCreatedAt, instance });
  return instance;
}
