import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { appendLogEntries, type LogEntryInput, logEntriesFor, type Tx } from '@sigil/db';
import { publicKeyFingerprint } from '@sigil/signing/verify';
import { dsseEntry, type EntryVerifier, formatVerifierKey, hashedRekordEntry, logOrigin } from '@sigil/tlog';
import type { Deps } from '../deps.js';
import { eventLogEntry } from './log-event.js';
import { checkpointer } from './sign-checkpoint.js';

export { eventLogEntry };

interface BundleJson {
  dsseEnvelope?: { payload?: string; payloadType?: string; signatures?: { sig?: string }[] };
  verificationMaterial?: { certificate?: { rawBytes?: string }; publicKey?: { hint?: string } };
}

/**
 * The log entries of an accepted, already verified DSSE bundle: the `dsse` 0.0.2 form (what
 * @sigstore/verify 3.1.x checks, and what bundles carry) and the `hashedrekord` 0.0.2 form over
 * the DSSE PAE (what Rekor v2 logs today and @sigstore/verify 4.1+ checks). Built before the
 * write transaction; `publicKeys` are the PEM keys the bundle was verified against (for a
 * key-signed bundle, the one whose fingerprint is the hint is the entry's verifier).
 */
export function bundleLogEntries(kind: string, subject: string, bundle: Record<string, unknown>, publicKeys: readonly string[]): LogEntryInput[] {
  const b = bundle as BundleJson;
  const env = b.dsseEnvelope;
  const sig = env?.signatures?.[0]?.sig;
  if (!env?.payload || !env.payloadType || !sig) throw new Error('a verified bundle holds a DSSE envelope with one signature');
  const envelope = { payloadType: env.payloadType, payload: Buffer.from(env.payload, 'base64'), signatures: [{ sig: Buffer.from(sig, 'base64') }] };
  let verifier: EntryVerifier;
  const cert = b.verificationMaterial?.certificate?.rawBytes;
  if (cert) {
    verifier = { certificate: new X509Certificate(Buffer.from(cert, 'base64')).raw, keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
  } else {
    const hint = b.verificationMaterial?.publicKey?.hint;
    // The hint is the key's fingerprint, SHA256:<base64> of its SPKI DER (publicKeyFingerprint):
    // hashing each PEM's DER finds it without building a key object per allowed key.
    // A PEM that is not plain SPKI DER (another encoding of the same key) takes the slow path.
    const der =
      publicKeys.map(spkiOfPem).find((d) => `SHA256:${createHash('sha256').update(d).digest('base64').replace(/=+$/, '')}` === hint) ??
      publicKeys.filter((k) => publicKeyFingerprint(k) === hint).map((k) => createPublicKey(k).export({ type: 'spki', format: 'der' }))[0];
    if (!der) throw new Error('the key of a verified key-signed bundle is among the keys it was verified with');
    verifier = { publicKey: der, keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
  }
  return [
    { kind, subject, form: 'dsse', body: dsseEntry({ envelope, verifiers: [verifier] }).bytes },
    { kind, subject, form: 'hashedrekord', body: hashedRekordEntry({ envelope, verifier }).bytes },
  ];
}


/** The SPKI DER of a PEM public key (what a PEM's base64 body is). */
function spkiOfPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** Appends inside the caller's transaction; sign a checkpoint after it commits with {@link logAppended}. */
export async function appendLog(tx: Tx, entries: readonly LogEntryInput[], at: string): Promise<void> {
  await appendLogEntries(tx, entries, at);
}

/** After a transaction that appended committed: a checkpoint now when idle, else within the interval. */
export function logAppended(deps: Deps): Promise<void> {
  return checkpointer(deps).appended();
}

/**
 * Logs the registry's keys (status key, log key) once each: a key change is an entry of the log,
 * so a host or monitor sees a new status key appear. Run at start, after the migrations; then
 * each key's time is the one its first log entry holds.
 */
export async function logRegistryKeys(deps: Deps, at: string): Promise<void> {
  // The log key as a C2SP verifier key: `<origin>+<key id>+<key>`.
  const vkey = formatVerifierKey(logOrigin(deps.settings.tlogUrl), deps.keys.logPublicKey);
  const keys = [
    { subject: `status:${deps.keys.statusFingerprint}`, details: { use: 'status', publicKey: deps.keys.statusPublicKey, createdAt: deps.keys.statusCreatedAt } },
    { subject: `log:${vkey}`, details: { use: 'log', verifierKey: vkey, publicKey: deps.keys.logPublicKey.export({ type: 'spki', format: 'pem' }).toString(), createdAt: deps.keys.logCreatedAt } },
  ];
  const appended = await deps.db.transaction(async (tx) => {
    const missing = [];
    for (const k of keys) if ((await logEntriesFor(tx, k.subject, 'key')).length === 0) missing.push(k);
    await appendLogEntries(tx, missing.map((k) => eventLogEntry('key', k.subject, k.details)), at);
    return missing.length;
  });
  if (appended > 0) await logAppended(deps);
  // Every instance given the same key answers with the same time: the one its first entry holds
  // (the instance that logged it first chose it; a key given by environment has no file to keep one).
  for (const k of keys) {
    const first = (await logEntriesFor(deps.db, k.subject, 'key'))[0];
    const logged = first ? (JSON.parse(Buffer.from(first.body).toString('utf8')) as { spec?: { createdAt?: unknown } }).spec?.createdAt : undefined;
    if (typeof logged !== 'string') continue;
    if (k.details.use === 'status') deps.keys.statusCreatedAt = logged;
    else deps.keys.logCreatedAt = logged;
  }
}
