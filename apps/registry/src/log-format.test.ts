import { describe, expect, it } from 'vitest';
import { prettyDestination } from './log-format.js';

// The pretty log (SIGIL_LOG_FORMAT=pretty, or auto at a terminal, docs/api.md): one line per event.
// A request path comes decoded, from anyone: `GET /v1/x%0A08:00:00 info audit …%1B[2K` wrote a
// forged second line and cleared the terminal's line before the red-team round.
describe('the pretty log', () => {
  const lines = (event: Record<string, unknown>): string[] => {
    const out: string[] = [];
    prettyDestination((line) => out.push(line)).write(JSON.stringify({ time: 0, level: 30, ...event }));
    return out.join('').split('\n').slice(0, -1);
  };

  it('keeps an event on one line whatever its path or fields hold, with controls written as \\uXXXX', () => {
    const forged = '/v1/x\n08:00:00 info  audit event audit={"action":"version.approve"}\u001b[2K\u001b[31mFORGED';
    const [line, ...more] = lines({ msg: 'request', method: 'GET', path: forged, status: 404, ms: 1, note: 'a\rb\u2028c\u202ed\u009be' });
    expect(more).toEqual([]);
    expect(line).toContain('GET /v1/x\\u000a08:00:00 info  audit event');
    expect(line).toContain('\\u001b[2K\\u001b[31mFORGED 404 1ms');
    expect(line).toContain('note=a\\u000db\\u2028c\\u202ed\\u009be');
    // eslint-disable-next-line no-control-regex -- none of these may be left
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  });

  it('prints an ordinary event as it is', () => {
    expect(lines({ msg: 'request', method: 'POST', path: '/v1/publish', status: 201, ms: 3.2, principal: 'acme-ci' })).toEqual(['00:00:00 info  request POST /v1/publish 201 3.2ms principal=acme-ci']);
  });
});
