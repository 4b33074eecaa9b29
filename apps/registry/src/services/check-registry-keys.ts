import { createHash, type KeyObject } from 'node:crypto';
import { latestCheckpoint, recordRegistryKey, registryKey, type RegistryKeyUse } from '@sigil/db';
import { ed25519NoteVerifier, openCheckpoint } from '@sigil/tlog';
import type { Deps } from '../deps.js';
import { KeyError } from '../keys.js';

/** The fingerprints of the keys an instance was told it replaces (`SIGIL_STATUS_KEY_REPLACES`, `SIGIL_LOG_KEY_REPLACES`). */
export interface KeyReplacements {
  status?: string | undefined;
  log?: string | undefined;
}

/** A key this start recorded as the one every instance must sign with. */
export interface RecordedKey {
  use: RegistryKeyUse;
  fingerprint: string;
  /** The fingerprint of the key it replaced, when the start rotated. */
  replaces: string | null;
}

/** `SHA256:<base64>` of a public key's SPKI DER: publicKeyFingerprint's form, for any key type. */
export function keyFingerprint(publicKey: KeyObject): string {
  return `SHA256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64').replace(/=+$/, '')}`;
}

/** Whether `publicKey` signed the checkpoint `envelope` (under the origin the checkpoint names). */
function signedBy(envelope: string, publicKey: KeyObject): boolean {
  const origin = envelope.slice(0, envelope.indexOf('\n'));
  try {
    openCheckpoint(envelope, ed25519NoteVerifier(origin, publicKey));
    return true;
  } catch {
    return false;
  }
}

const SETTING = { status: 'SIGIL_STATUS_KEY_REPLACES', log: 'SIGIL_LOG_KEY_REPLACES' } as const;
const FILE = { status: 'SIGIL_STATUS_KEY_FILE', log: 'SIGIL_LOG_KEY_FILE' } as const;

/**
 * Every instance on one database signs with the same status key and log key, or hosts see
 * several registries. The database records them (`registry_keys`): the first instance to start
 * records its own; any other with a different key refuses to start (`KEY_MISMATCH`), before it
 * listens or signs anything. A key changes only by a deliberate rotation: an instance started
 * with `SIGIL_STATUS_KEY_REPLACES` (or `SIGIL_LOG_KEY_REPLACES`) naming the recorded key's
 * fingerprint records its own in its place. Read and recorded in one write transaction, so two
 * instances starting together on an empty database cannot both record theirs.
 *
 * A log from before this record already names its key: its newest checkpoint, which hosts keep
 * as their floor. The first log key recorded must have signed it (or be a stated replacement).
 */
export async function checkRegistryKeys(deps: Deps, replaces: KeyReplacements, at: string): Promise<RecordedKey[]> {
  const logPublicKey = deps.keys.logPublicKey;
  const mine = [
    { use: 'status' as const, fingerprint: deps.keys.statusFingerprint, publicKey: deps.keys.statusPublicKey, replaces: replaces.status },
    { use: 'log' as const, fingerprint: keyFingerprint(logPublicKey), publicKey: logPublicKey.export({ type: 'spki', format: 'pem' }).toString(), replaces: replaces.log },
  ];
  return deps.db.transaction(async (tx) => {
    const recorded: RecordedKey[] = [];
    for (const k of mine) {
      const current = await registryKey(tx, k.use);
      if (current?.fingerprint === k.fingerprint) continue;
      let replaced: string | null = null;
      if (!current) {
        if (k.use === 'log') {
          const newest = await latestCheckpoint(tx);
          if (newest && !signedBy(newest.envelope, logPublicKey)) {
            if (!k.replaces)
              throw new KeyError(
                'KEY_MISMATCH',
                `this instance's log key ${k.fingerprint} did not sign the log's newest checkpoint (size ${newest.size}, signed ${newest.signedAt}), which hosts keep as their floor: give this instance the log key the other instances sign with (${FILE.log}); or, to cut over to this key deliberately, start it with ${SETTING.log}=<the old log key's fingerprint> (docs/deploy.md, "Rotation")`,
              );
            replaced = k.replaces;
          }
        }
      } else if (k.replaces === current.fingerprint) {
        replaced = current.fingerprint;
      } else {
        const named = k.replaces ? `${SETTING[k.use]} names ${k.replaces}, but ` : '';
        throw new KeyError(
          'KEY_MISMATCH',
          `${named}this instance's ${k.use} key is ${k.fingerprint}, and the instances on this database sign with ${current.fingerprint} (recorded ${current.recordedAt}): give this instance the same key as the others (${FILE[k.use]}); or, to rotate to this key deliberately, start it with ${SETTING[k.use]}=${current.fingerprint} (docs/deploy.md, "Rotation")`,
        );
      }
      await recordRegistryKey(tx, { use: k.use, fingerprint: k.fingerprint, publicKey: k.publicKey, recordedAt: at, replaces: replaced });
      recorded.push({ use: k.use, fingerprint: k.fingerprint, replaces: replaced });
    }
    return recorded;
  });
}
