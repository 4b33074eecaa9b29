/**
 * Starting a stdio MCP server so that stopping it stops everything it started.
 *
 * Hosts start servers through launchers (`npx -y pkg`, `uvx`, `sh -c`): the process we spawn is
 * the launcher, the server is its child or grandchild. Signalling the launcher alone leaves the
 * server running, orphaned, when the launcher does not pass the signal on (npm runs the package's
 * bin through `sh -c`, which does not), and a server that does not exit when its stdin closes
 * (server-everything, once a host declared `roots`) then keeps our pipes open: `manifest init`
 * waited a minute for it. On POSIX the server is therefore started in a process group of its own
 * and signals go to the whole group. Windows has no process groups: there, the command is started
 * as it is.
 */

/** Whether servers are started in a process group of their own here. */
export const USE_PROCESS_GROUPS = process.platform !== 'win32';

/** After a signal the launcher passed on, how long the group has before SIGKILL: under the 1 s the 2.x SDK gives a probe sibling before it kills the launcher itself. */
const SIGNAL_GRACE_MS = 800;
/** After the command ended, how long what it left in its group has before SIGKILL. */
const LEFTOVER_GRACE_MS = 500;

/**
 * A small launcher run by `node -e` for spawners we do not control (the MCP SDK's stdio transport,
 * also for its probe sibling): it starts the command in a new process group with the same stdio,
 * passes SIGTERM, SIGINT and SIGHUP on to the whole group (SIGKILL to the group SIGNAL_GRACE_MS
 * later), and ends with the command's status once the group is empty: when the command ends,
 * whatever it left running in its group is sent SIGTERM, and SIGKILL LEFTOVER_GRACE_MS later (a helper that ignores SIGTERM outlived the launcher, holding the
 * server's stdio). The launcher must outlive the group for that: a launcher that exits, or is
 * killed, first leaves the rest to no one. Kept as CommonJS source: `node -e` needs no file, so it
 * also works from the packed single-file CLI.
 */
const LAUNCHER = `
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: 'inherit', detached: true });
const group = (signal) => { try { process.kill(-child.pid, signal); } catch {} };
const alive = () => { try { process.kill(-child.pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
let status;
let killAt = Infinity;
let polling = false;
const poll = () => {
  if (status !== undefined && !alive()) process.exit(status);
  if (Date.now() >= killAt) { group('SIGKILL'); if (status !== undefined) process.exit(status); killAt = Infinity; }
  setTimeout(poll, 20);
};
const stopBy = (ms) => { killAt = Math.min(killAt, Date.now() + ms); if (!polling) { polling = true; poll(); } };
child.on('error', (e) => { process.stderr.write('could not start ' + command + ': ' + e.message + '\\n'); process.exit(127); });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => { group(signal); stopBy(${SIGNAL_GRACE_MS}); });
child.on('exit', (code, signal) => { status = code ?? 128 + (constants.signals[signal] ?? 0); group('SIGTERM'); stopBy(${LEFTOVER_GRACE_MS}); });
`;

/** The command and arguments that start `command args` in a process group of its own (as they are on Windows). */
export function inOwnProcessGroup(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (!USE_PROCESS_GROUPS) return { command, args: [...args] };
  return { command: process.execPath, args: ['-e', LAUNCHER, '--', command, ...args] };
}

/** Sends a signal to the process group led by `pid` (started detached), or to `pid` alone where there are no groups. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(USE_PROCESS_GROUPS ? -pid : pid, signal);
  } catch {
    // Already gone.
  }
}


/** Whether any process is left in the process group led by `pid` (signal 0: a check, nothing sent); false where there are no groups. */
export function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined || !USE_PROCESS_GROUPS) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    // ESRCH: none left. EPERM: a process of another user took the group id (ours no longer).
    return false;
  }
}

/**
 * Stops what is left in the process group led by `pid` once its leader has exited: SIGTERM, then
 * SIGKILL after `graceMs` if anything is still there; `done` once the group is empty (at once when
 * it already is, or where there are no groups).
 */
export function reapGroup(pid: number | undefined, graceMs: number, done: () => void): void {
  if (!groupAlive(pid)) return done();
  signalGroup(pid, 'SIGTERM');
  const started = Date.now();
  const poll = (): void => {
    if (!groupAlive(pid)) return done();
    if (Date.now() - started < graceMs) return void setTimeout(poll, 25);
    signalGroup(pid, 'SIGKILL');
    done();
  };
  setTimeout(poll, 25);
}
