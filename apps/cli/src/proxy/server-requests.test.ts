import { describe, expect, it } from 'vitest';
import { ServerRequests } from './server-requests.js';

describe('ServerRequests', () => {
  it('gives the host its own ids and takes back only the exact ones it gave, once', () => {
    const requests = new ServerRequests();
    const a = requests.issue(5);
    const b = requests.issue('5');
    expect(a).not.toBe(b);
    expect(requests.take(`${a} `)).toBeUndefined();
    expect(requests.take(a)).toBe(5);
    expect(requests.take(a)).toBeUndefined();
    expect(requests.take(b)).toBe('5');
    expect(requests.size).toBe(0);
  });

  it('cancels the latest outstanding request under a server id, by type and value, and nothing else', () => {
    const requests = new ServerRequests();
    const number = requests.issue(7);
    const text = requests.issue('7');
    expect(requests.cancel(8)).toBeUndefined();
    expect(requests.cancel(null)).toBeUndefined();
    expect(requests.cancel({ id: 7 })).toBeUndefined();
    expect(requests.cancel('7')).toBe(text);
    expect(requests.cancel('7')).toBeUndefined(); // gone: the host's late answer goes nowhere
    expect(requests.take(text)).toBeUndefined();
    expect(requests.take(number)).toBe(7);
    expect(requests.cancel(7)).toBeUndefined(); // answered: nothing left to cancel
  });

  it('forgets the index entry of an answered request, so a later cancellation cannot reach another', () => {
    const requests = new ServerRequests();
    const first = requests.issue('x');
    expect(requests.take(first)).toBe('x');
    const second = requests.issue('x');
    expect(requests.cancel('x')).toBe(second);
    requests.issue('y');
    requests.clear();
    expect(requests.size).toBe(0);
    expect(requests.cancel('y')).toBeUndefined();
  });
});
