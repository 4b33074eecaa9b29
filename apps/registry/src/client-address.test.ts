import { describe, expect, it } from 'vitest';
import { addressKey, cidrProblem, clientKey, TrustedProxies } from './client-address.js';

const none = new TrustedProxies([]);
const proxies = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48', '192.0.2.7']);

describe('when no reverse proxy is configured', () => {
  it('keys on the socket address and ignores X-Forwarded-For', () => {
    expect(clientKey('198.51.100.4', '203.0.113.1', none)).toBe('198.51.100.4');
    expect(clientKey('198.51.100.4', undefined, none)).toBe('198.51.100.4');
    expect(clientKey(undefined, '203.0.113.1', none)).toBe('unknown');
  });
});

describe('when the peer is a trusted proxy', () => {
  it('keys on the right-most hop that is not a trusted proxy', () => {
    expect(clientKey('10.1.2.3', '203.0.113.1', proxies)).toBe('203.0.113.1');
    // The client wrote the left part; the proxies appended the right part.
    expect(clientKey('10.1.2.3', '6.6.6.6, 203.0.113.1, 10.9.9.9', proxies)).toBe('203.0.113.1');
    expect(clientKey('::ffff:10.1.2.3', '203.0.113.1', proxies)).toBe('203.0.113.1');
    expect(clientKey('192.0.2.7', '203.0.113.9', proxies)).toBe('203.0.113.9');
  });

  it('falls back to the proxy when the header holds no address, or only proxies', () => {
    expect(clientKey('10.1.2.3', 'nonsense', proxies)).toBe('10.1.2.3');
    expect(clientKey('10.1.2.3', '', proxies)).toBe('10.1.2.3');
    expect(clientKey('10.1.2.3', '10.4.4.4', proxies)).toBe('10.4.4.4');
  });

  it('ignores the header from a peer that is not a trusted proxy', () => {
    expect(clientKey('198.51.100.4', '10.0.0.1', proxies)).toBe('198.51.100.4');
  });
});

describe('IPv6 clients', () => {
  it('share one key per /64', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(clientKey('2001:db8:ffff:1::5', '2001:db8:7:7:1::1', proxies)).toBe('2001:db8:7:7::/64');
  });
});

describe('SIGIL_TRUSTED_PROXIES entries', () => {
  it('are addresses or CIDRs', () => {
    expect(cidrProblem('10.0.0.0/8')).toBeUndefined();
    expect(cidrProblem('fd00::/8')).toBeUndefined();
    expect(cidrProblem('10.0.0.0/33')).toBeDefined();
    expect(cidrProblem('example.com')).toBeDefined();
    expect(() => new TrustedProxies(['10.0.0.0/x'])).toThrow();
  });
});
