import { checkRepository, hostOf, isNonPublicAddress, matchRepository } from './repositories';

const resolver = (table: Record<string, string[]>) => async (host: string) => {
  if (!table[host]) throw new Error('ENOTFOUND');
  return table[host];
};

describe('chart repository allow-list', () => {
  it('matches exact URLs and * patterns, a trailing slash aside', () => {
    const patterns = ['https://charts.example.com/stable*', 'oci://registry.example.com/*', 'http://127.0.0.1:*'];
    expect(matchRepository('https://charts.example.com/stable', patterns)).toBe(patterns[0]);
    expect(matchRepository('https://charts.example.com/stable/', patterns)).toBe(patterns[0]);
    expect(matchRepository('oci://registry.example.com/team/web', patterns)).toBe(patterns[1]);
    expect(matchRepository('http://127.0.0.1:8879', patterns)).toBe(patterns[2]);
    expect(matchRepository('https://charts.example.com.evil.org/stable', patterns)).toBeUndefined();
    expect(matchRepository('https://evil.org/?https://charts.example.com/stable', patterns)).toBeUndefined();
    expect(matchRepository('oci://registry.example.com.evil/x', ['oci://registry.example.com/*'])).toBeUndefined();
  });

  it('knows private, loopback, link-local and mapped addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1', '0.0.0.0', '100.64.0.1']) {
      expect({ a, private: isNonPublicAddress(a) }).toEqual({ a, private: true });
    }
    for (const a of ['8.8.8.8', '2001:4860:4860::8888', '172.32.0.1']) expect({ a, private: isNonPublicAddress(a) }).toEqual({ a, private: false });
    expect(hostOf('http://[::1]:8080/x')).toBe('::1');
    expect(hostOf('http://127.0.0.1:*')).toBe('127.0.0.1');
  });

  it('refuses what is off the list, resolves inside the network, or carries credentials; allows an address written out', async () => {
    const policy = { patterns: ['https://charts.example.com/*', 'http://127.0.0.1:*', 'http://localhost:*'], privateAllowed: false };
    const resolve = resolver({ 'charts.example.com': ['93.184.216.34'], localhost: ['127.0.0.1'] });
    expect(await checkRepository('https://charts.example.com/x', policy, resolve)).toEqual({ ok: true });
    expect(await checkRepository('http://127.0.0.1:8879', policy, resolve)).toEqual({ ok: true });
    expect(await checkRepository('http://localhost:8879', policy, resolve)).toMatchObject({ ok: false, reason: expect.stringMatching(/private, loopback or link-local/) });
    expect(await checkRepository('http://169.254.169.254/', policy, resolve)).toMatchObject({ ok: false, reason: expect.stringMatching(/allow-list/) });
    expect(await checkRepository('https://u:p@charts.example.com/x', policy, resolve)).toMatchObject({ ok: false, reason: expect.stringMatching(/credentials/) });
    const rebound = resolver({ 'charts.example.com': ['93.184.216.34', '10.0.0.7'] });
    expect(await checkRepository('https://charts.example.com/x', policy, rebound)).toMatchObject({ ok: false, reason: expect.stringMatching(/private/) });
    expect(await checkRepository('https://charts.example.com/x', { ...policy, privateAllowed: true }, rebound)).toEqual({ ok: true });
    expect(await checkRepository('https://charts.example.com/x', { ...policy, patterns: [] }, resolve)).toMatchObject({ ok: false });
  });
});
