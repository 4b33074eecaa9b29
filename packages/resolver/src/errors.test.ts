import { describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';

describe('a refusal of one server, as a sentence', () => {
  it('is led by the server name once, not again where the sentence names it already', () => {
    const named = ResolveError.of('io.github.acme/other', 'NOT_LOCKED', 'io.github.acme/other is not in the lockfile; run sigil lock first');
    expect(named.message).toBe('io.github.acme/other is not in the lockfile; run sigil lock first');
    const unnamed = ResolveError.of('io.github.acme/other', 'REGISTRY_UNREACHABLE', 'the registry did not answer');
    expect(unnamed.message).toBe('io.github.acme/other: the registry did not answer');
    const two = new ResolveError([
      { name: 'a.b/c', code: 'REVOKED', message: 'revoked' },
      { name: 'a.b/d', code: 'NOT_LOCKED', message: 'not locked' },
    ]);
    expect(two.message).toBe('2 servers refused: a.b/c REVOKED, a.b/d NOT_LOCKED');
  });
});
