/**
 * Which chart repositories releases may use. Patterns are exact URLs or URLs with `*` standing for any
 * run of characters (`https://charts.example.com/stable*`, `oci://registry.example.com/*`); a trailing
 * slash is not significant. Credentials never travel inside a URL.
 */
import { BlockList, isIP } from 'node:net';

const normalize = (url: string): string => url.replace(/\/+$/, '');

const patternRegex = (pattern: string): RegExp =>
  new RegExp(`^${normalize(pattern).split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}/?$`);

/** The first pattern that allows `url`, or undefined. */
export const matchRepository = (url: string, patterns: readonly string[]): string | undefined => {
  const candidate = normalize(url);
  return patterns.find((p) => patternRegex(p).test(candidate));
};

/** The host of a URL or pattern, without brackets; undefined if it holds a `*` or does not parse. */
export const hostOf = (url: string): string | undefined => {
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(url)?.[1];
  if (!authority || authority.includes('@')) return undefined;
  const host = authority.startsWith('[') ? authority.slice(1, authority.indexOf(']')) : authority.replace(/:[^:]*$/, '');
  return host && !host.includes('*') ? host.toLowerCase() : undefined;
};

const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** Private, loopback, link-local, multicast or unspecified: an address no public chart repository has. */
export const isNonPublicAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isNonPublicAddress(mapped);
  const family = isIP(address);
  if (family === 0) return true;
  return NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

export interface RepositoryPolicy {
  patterns: readonly string[];
  privateAllowed: boolean;
}

export type RepositoryCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a repository URL against the allow-list and then, after resolving its host, against private
 * addresses: a public name may point inside the network (or at a cloud's metadata address). An address
 * written out in the matching pattern was allowed on purpose.
 */
export const checkRepository = async (
  url: string,
  policy: RepositoryPolicy,
  resolve: (host: string) => Promise<string[]>,
): Promise<RepositoryCheck> => {
  if (!URL.canParse(url)) return { ok: false, reason: 'the repository is not a valid URL' };
  const parsed = new URL(url);
  if (parsed.username || parsed.password) return { ok: false, reason: 'the repository URL must not carry credentials' };
  const pattern = matchRepository(url, policy.patterns);
  if (!pattern) return { ok: false, reason: `the repository '${url}' is not on the allow-list (CHART_REPOSITORIES)` };
  const host = hostOf(url);
  if (!host) return { ok: false, reason: 'the repository URL has no host' };
  if (policy.privateAllowed || (isIP(host) && hostOf(pattern) === host)) return { ok: true };
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch {
    return { ok: false, reason: `the repository host '${host}' does not resolve` };
  }
  if (addresses.length === 0) return { ok: false, reason: `the repository host '${host}' does not resolve` };
  if (addresses.some(isNonPublicAddress)) {
    return { ok: false, reason: `the repository host '${host}' resolves to a private, loopback or link-local address` };
  }
  return { ok: true };
};
