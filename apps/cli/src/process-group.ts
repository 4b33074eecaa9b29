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

/**
 * A small launcher run by `node -e` for spawners we do not control (the MCP SDK's stdio transport,
 * also for its probe sibling): it starts the command in a new process group with the same stdio,
 * passes SIGTERM, SIGINT and SIGHUP on to the whole group (SIGKILL to the group 1 s later), and
 * ends with the command's status; when the command ends, whatever it left running in its group is
 * sent SIGTERM. Kept as CommonJS source: `node -e` needs no file, so it also works from the packed
 * single-file CLI.
 */
const LAUNCHER = `
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: 'inherit', detached: true });
const group = (signal) => { try { process.kill(-child.pid, signal); } catch {} };
child.on('error', (e) => { process.stderr.write('could not start ' + command + ': ' + e.message + '\\n'); process.exit(127); });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => { group(signal); setTimeout(() => { group('SIGKILL'); process.exit(128 + constants.signals[signal]); }, 1000).unref(); });
child.on('exit', (code, signal) => { group('SIGTERM'); process.exit(code ?? 128 + (constants.signals[signal] ?? 0)); });
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
