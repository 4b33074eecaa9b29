import type { Stats } from 'node:fs';

/** What of a private key file's stat decides whether the registry may use it. */
export type KeyFileStat = Pick<Stats, 'mode' | 'uid'>;

/**
 * Why a private key file is not protected, or undefined when it is: like OpenSSH's
 * "UNPROTECTED PRIVATE KEY FILE", the registry will not sign with a key others could read or
 * replace. The file must belong to the process's user with no access for group or others
 * (0600, 0400), or to root with at most read access for its group (0640, 0440): root granting a
 * group read is a deliberate act of the one user who could read the file anyway, and it is how
 * Kubernetes hands a secret volume to a non-root container (owner root, group `fsGroup`) and
 * how Debian's `ssl-cert` group hands keys to services; PostgreSQL judges its `ssl_key_file` by
 * the same rule. A file owned by any other user is refused: that user could change it.
 * Windows has no such modes: nothing is checked there (`platform`).
 *
 * @example keyFileProblem(statSync(file), process.getuid()) // 'has mode 0644: …' or undefined
 */
export function keyFileProblem(stat: KeyFileStat, uid: number | undefined, file: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32' || uid === undefined) return undefined;
  const mode = stat.mode & 0o777;
  const octal = `0${mode.toString(8).padStart(3, '0')}`;
  if (stat.uid !== uid && stat.uid !== 0)
    return `is owned by uid ${stat.uid}, not by this process's user (uid ${uid}) or root, so another user can replace the key; give it to this user and make it private: chown ${uid} ${file} && chmod 600 ${file}`;
  // Owned by the process's user (root included): nothing for group or others. Owned by root
  // for a non-root process: its group may read, nothing more.
  const excess = mode & ~(stat.uid === uid ? 0o700 : 0o740);
  if (excess === 0) return undefined;
  const who = [excess & 0o070 && `its group can ${access(mode >> 3)}`, excess & 0o007 && `others can ${access(mode)}`].filter(Boolean).join(' and ');
  return stat.uid === uid
    ? `has mode ${octal} (${who}): an unprotected private key file, which must be accessible by its owner only; chmod 600 ${file}`
    : `has mode ${octal} (${who}): an unprotected private key file; owned by root, it may be readable by its group at most; chmod 640 ${file} (or chown ${uid} ${file} && chmod 600 ${file})`;
}

function access(bits: number): string {
  return [bits & 4 && 'read', bits & 2 && 'write', bits & 1 && 'execute'].filter(Boolean).join(', ');
}
