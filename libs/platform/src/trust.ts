/**
 * Trust configuration turned into what decisions and edges use: the clusters, the grants of a caller, the
 * freeze windows in force. Read once from AppConfig; nothing here does I/O.
 */
import { Cron } from 'croner';
import { ActiveFreeze, ClusterDirectory, Grant, matchesPattern, RoleName, Scope } from '@app/domain';
import type { AppConfig, ClusterEntry, FreezeWindow, TokenGrant } from './config';

/** The configured clusters; without CLUSTERS, the one DEFAULT_CLUSTER reached through KUBECONFIG. */
export const clustersOf = (config: Pick<AppConfig, 'CLUSTERS' | 'DEFAULT_CLUSTER' | 'KUBECONFIG'>): ClusterEntry[] =>
  config.CLUSTERS.length ? config.CLUSTERS : [{ name: config.DEFAULT_CLUSTER, ...(config.KUBECONFIG ? { kubeconfig: config.KUBECONFIG } : {}) }];

export const clusterDirectory = (config: Pick<AppConfig, 'CLUSTERS' | 'DEFAULT_CLUSTER' | 'KUBECONFIG'>): ClusterDirectory =>
  new Map(clustersOf(config).map((c) => [c.name, c.namespaces ? { namespaces: c.namespaces } : {}]));

type ExecutorConfig = Pick<AppConfig, 'CLUSTERS' | 'DEFAULT_CLUSTER' | 'KUBECONFIG' | 'EXECUTOR_CLUSTERS'>;

/**
 * The clusters an executor serves, with how to reach each: its CLUSTERS entry's kubeconfig, else
 * KUBECONFIG (absent: Helm's default or in-cluster).
 */
export const executorClusters = (config: ExecutorConfig): Array<{ name: string; kubeconfig?: string }> =>
  (config.EXECUTOR_CLUSTERS ?? [config.DEFAULT_CLUSTER]).map((name) => {
    const kubeconfig = clustersOf(config).find((c) => c.name === name)?.kubeconfig ?? config.KUBECONFIG;
    return kubeconfig ? { name, kubeconfig } : { name };
  });

/**
 * The consumer group of a cluster's executors: each cluster's executors share the events topic's
 * partitions among themselves, and skip other clusters' operations. The default cluster keeps the group
 * its executors had before there were several, so an upgrade resumes from their committed offsets.
 */
export const executorGroup = (config: Pick<AppConfig, 'DEFAULT_CLUSTER'>, cluster: string): string =>
  cluster === config.DEFAULT_CLUSTER ? 'executor' : `executor-${cluster}`;

const everywhere = (role: RoleName): Grant => ({ role, clusters: ['*'], namespaces: ['*'] });

/** Who is asking, as the edge knows them. */
export type Caller = { subject: string; groups?: readonly string[] } | { source: string } | { principal: string };

/** The AUTH_GRANTS that apply to a caller. */
export const grantsOf = (config: Pick<AppConfig, 'AUTH_GRANTS'>, caller: Caller): Grant[] =>
  config.AUTH_GRANTS.filter((g) =>
    'principal' in caller
      ? g.principal === caller.principal
      : 'source' in caller
        ? g.source !== undefined && matchesPattern([g.source], caller.source)
        : (g.subject !== undefined && g.subject === caller.subject) || (g.group !== undefined && (caller.groups ?? []).includes(g.group)),
  ).map(({ role, clusters, namespaces }) => ({ role, clusters, namespaces }));

/** A static token's grants: its role everywhere (none when `scoped`), and AUTH_GRANTS of its subject. */
export const tokenGrants = (config: Pick<AppConfig, 'AUTH_GRANTS'>, token: Pick<TokenGrant, 'role' | 'subject'>): Grant[] => [
  ...(token.role === 'scoped' ? [] : [everywhere(token.role === 'operator' ? 'deployer' : token.role)]),
  ...grantsOf(config, { subject: token.subject }),
];

interface CompiledWindow {
  window: FreezeWindow;
  cron: Cron;
}

/** The freeze windows, compiled once: which one (if any) freezes a scope at a time. */
export class FreezeCalendar {
  private readonly windows: CompiledWindow[];

  constructor(windows: readonly FreezeWindow[]) {
    this.windows = windows.map((window) => ({ window, cron: new Cron(window.cron, { timezone: window.timeZone, paused: true }) }));
  }

  /** The freeze in force for `scope` at `now`: a deny window that is open, or being outside every allow window of the scope. */
  at(scope: Scope, now: Date): ActiveFreeze | undefined {
    const applying = this.windows.filter(({ window }) => matchesPattern(window.clusters, scope.cluster) && matchesPattern(window.namespaces, scope.namespace));
    for (const { window, cron } of applying) {
      if (window.mode !== 'deny') continue;
      const end = this.openUntil(window, cron, now);
      if (end) return { window: window.name, endsAt: end.toISOString(), allowAutomatic: window.allowAutomatic };
    }
    const allows = applying.filter(({ window }) => window.mode === 'allow');
    if (allows.length === 0 || allows.some(({ window, cron }) => this.openUntil(window, cron, now))) return undefined;
    // Frozen until the soonest of the allow windows opens.
    const next = allows
      .map(({ window, cron }) => ({ window, at: cron.nextRun(now) }))
      .filter((n): n is { window: FreezeWindow; at: Date } => n.at !== null)
      .sort((a, b) => a.at.getTime() - b.at.getTime())[0];
    const first = next?.window ?? allows[0].window;
    return { window: first.name, endsAt: next ? next.at.toISOString() : 'never', allowAutomatic: allows.every(({ window }) => window.allowAutomatic) };
  }

  /** When the window's latest opening at or before `now` closes, if it is still open. */
  private openUntil(window: FreezeWindow, cron: Cron, now: Date): Date | undefined {
    const start = cron.previousRuns(1, new Date(now.getTime() + 1))[0];
    if (!start) return undefined;
    const end = new Date(start.getTime() + window.durationMinutes * 60_000);
    return end > now ? end : undefined;
  }
}
