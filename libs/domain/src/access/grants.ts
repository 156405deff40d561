/**
 * Who may do what where: roles granted on cluster and namespace patterns. Pure data and matching; the
 * release decisions apply it (release.access.ts), the edges only say who is asking.
 */

/** What a caller may ask of a release. */
export type Action = 'read' | 'values' | 'rollback' | 'deploy' | 'breakGlass';

/**
 * viewer reads (values redacted); rollbacker also rolls back, to a revision or the last successful one;
 * deployer also installs (adopting included), upgrades, retries and uninstalls, and reads values; admin
 * also changes a release during a freeze window (break-glass).
 */
export const ROLES = {
  viewer: ['read'],
  rollbacker: ['read', 'rollback'],
  deployer: ['read', 'values', 'rollback', 'deploy'],
  admin: ['read', 'values', 'rollback', 'deploy', 'breakGlass'],
} as const satisfies Record<string, readonly Action[]>;
export type RoleName = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES) as RoleName[];

/** A role on the clusters and namespaces whose names match one of the patterns (`*` matches any run of characters). */
export interface Grant {
  role: RoleName;
  clusters: string[];
  namespaces: string[];
}

/** Where a release lives. */
export interface Scope {
  cluster: string;
  namespace: string;
}

/** A caller as the decision sees it: who (as recorded), whether the service verified it, and its grants. */
export interface Access {
  subject: string;
  /** False for a Kafka command's claimed source: the service records it as such. */
  authenticated: boolean;
  grants: Grant[];
}

const regexCache = new Map<string, RegExp>();

/** A pattern as an anchored regular expression: `*` is any run of characters, everything else literal. */
export const patternRegex = (pattern: string): RegExp => {
  let regex = regexCache.get(pattern);
  if (!regex) {
    regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (regexCache.size < 10_000) regexCache.set(pattern, regex);
  }
  return regex;
};

export const matchesPattern = (patterns: readonly string[], name: string): boolean => patterns.some((p) => patternRegex(p).test(name));

/** Whether `grants` allow `action` on a release in `scope`. */
export const permits = (grants: readonly Grant[], action: Action, scope: Scope): boolean =>
  grants.some(
    (g) => (ROLES[g.role] as readonly Action[]).includes(action) && matchesPattern(g.clusters, scope.cluster) && matchesPattern(g.namespaces, scope.namespace),
  );

/** The grants that allow `action` somewhere: a list query keeps the releases in their scopes. */
export const grantsFor = (grants: readonly Grant[], action: Action): Grant[] => grants.filter((g) => (ROLES[g.role] as readonly Action[]).includes(action));

/** The cluster of every release recorded before the service knew of several: stored events without one are read as in it. */
export const LEGACY_CLUSTER = 'default';
