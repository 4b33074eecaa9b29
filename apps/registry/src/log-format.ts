import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * Characters a terminal acts on or a reader cannot see: C0 and C1 controls (a newline would start
 * a forged line, ESC a colour or a cleared line), DEL, the line and paragraph separators, and the
 * bidirectional controls that reorder what is shown. A request path comes decoded (`%0A`, `%1B`),
 * from anyone, token or not.
 */
// eslint-disable-next-line no-control-regex -- finding these characters is the point
const UNSEEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each such character written as `\uXXXX`, so one event stays one line that shows what it holds. */
function visible(text: string): string {
  return text.replace(UNSEEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A pino destination that prints one readable line per event for a person at a terminal:
 * `12:00:01 info  request POST /v1/publish 201 3.2ms`, then the remaining fields as key=value.
 * Log collectors get the JSON lines instead (SIGIL_LOG_FORMAT=json, or whenever stdout is not a TTY).
 */
export function prettyDestination(write: (line: string) => void): DestinationStream {
  return {
    write(json: string) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(json) as Record<string, unknown>;
      } catch {
        return write(json);
      }
      const { time, level, msg, pid: _pid, hostname: _host, ...rest } = event;
      const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
      const head = [clock, (LEVELS[level as number] ?? String(level)).padEnd(5), String(msg ?? '')];
      if (msg === 'request') {
        head.push(`${String(rest.method)} ${String(rest.path)} ${String(rest.status)} ${String(rest.ms)}ms`);
        for (const k of ['method', 'path', 'status', 'ms', 'route', 'userAgent']) delete rest[k];
      }
      const fields = Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      write(`${visible([...head, ...fields].join(' '))}\n`);
    },
  };
}
