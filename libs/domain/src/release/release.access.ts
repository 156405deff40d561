/**
 * The trust rules every release decision applies first: who may ask this of this release, in which cluster
 * and namespace, and whether a freeze window stands in the way. Kafka and HTTP commands meet the same
 * rules here, so no edge can skip them.
 */
import { DomainError, ErrorCode } from '../core/domain-error';
import { Access, Action, LEGACY_CLUSTER, matchesPattern, permits, Scope } from '../access/grants';
import { BreakGlass } from './release.events';
import { ReleaseState } from './release';
import { InstallRelease, ReleaseCommand } from './release.commands';

/** The clusters releases may live in: for each, the namespaces allowed there (absent: any). */
export type ClusterDirectory = ReadonlyMap<string, { namespaces?: readonly string[] }>;

/** A freeze window in force for a scope. */
export interface ActiveFreeze {
  window: string;
  /** When it ends (ISO-8601). */
  endsAt: string;
  /** Whether automatic remediation (rollback, retry, uninstall) may still change releases. */
  allowAutomatic: boolean;
}

/** What the edge tells a decision about trust, besides the stream. */
export interface TrustContext {
  /** Who asks; absent: the service itself (executor outcomes, the watchdog, remediation). */
  access?: Access;
  /** The clusters known; absent: any cluster and namespace (domain tests). */
  clusters?: ClusterDirectory;
  /** The cluster of an install that names none and has no earlier one. */
  defaultCluster?: string;
  /** The freeze window in force for a scope at the decision's time, if any. */
  freezeAt?: (scope: Scope) => ActiveFreeze | undefined;
}

/** What a decision records about the trust it was given, on the revision it makes. */
export interface Trusted {
  unauthenticated?: true;
  breakGlass?: BreakGlass;
}

/**
 * Commands only the service sends: outcomes, drift findings, the watchdog's and remediation's. They travel
 * on a topic of their own (the outcomes topic), which only the service's apps may write.
 */
export const SYSTEM_ONLY: ReadonlySet<ReleaseCommand['type']> = new Set<ReleaseCommand['type']>(['RecordOperationResult', 'RecordDriftCheck', 'ExpireOperation', 'ReportUpgradeFailure']);

const isAutomatic = (command: ReleaseCommand): boolean => 'trigger' in command.data && command.data.trigger === 'AUTOMATIC';

/** What a change command needs of its caller. */
const actionOf = (command: ReleaseCommand): Action =>
  command.type === 'RollbackRelease' || command.type === 'RollbackToLastSuccessful' ? 'rollback' : 'deploy';

/** The cluster an install goes to: the one it names, else the release's earlier one, else the default. */
export const installCluster = (data: InstallRelease['data'], state: ReleaseState, trust: TrustContext): string =>
  data.cluster ?? (state.status === 'NONE' ? (trust.defaultCluster ?? LEGACY_CLUSTER) : state.cluster);

const forbidden = (access: Access, what: string, scope: Scope): never => {
  throw new DomainError(ErrorCode.FORBIDDEN, `'${access.subject}' may not ${what} in cluster '${scope.cluster}', namespace '${scope.namespace}'`, {
    cluster: scope.cluster,
    namespace: scope.namespace,
  });
};

const requireKnownScope = (trust: TrustContext, scope: Scope): void => {
  if (!trust.clusters) return;
  const cluster = trust.clusters.get(scope.cluster);
  if (!cluster) {
    throw new DomainError(ErrorCode.CLUSTER_UNKNOWN, `Cluster '${scope.cluster}' is not configured; known clusters: ${[...trust.clusters.keys()].join(', ') || 'none'}`, {
      cluster: scope.cluster,
    });
  }
  if (cluster.namespaces && !matchesPattern(cluster.namespaces, scope.namespace)) {
    throw new DomainError(ErrorCode.NAMESPACE_NOT_ALLOWED, `Namespace '${scope.namespace}' is not open to releases in cluster '${scope.cluster}'`, {
      cluster: scope.cluster,
      namespace: scope.namespace,
    });
  }
};

/**
 * Refuses what the caller may not do, or returns what the revision records about it. Checked before
 * anything else, so a caller learns nothing of a release it may not read: it is "not found" to them.
 */
export const checkTrust = (command: ReleaseCommand, state: ReleaseState, trust: TrustContext): Trusted => {
  const { access } = trust;
  if (access && (SYSTEM_ONLY.has(command.type) || isAutomatic(command))) {
    throw new DomainError(ErrorCode.FORBIDDEN, `${command.type}${isAutomatic(command) ? ' (automatic)' : ''} is sent by the service itself, not by '${access.subject}'`);
  }
  if (SYSTEM_ONLY.has(command.type)) return {};
  if (access && access.grants.length === 0) {
    throw new DomainError(ErrorCode.FORBIDDEN, `'${access.subject}' is granted nothing${access.authenticated ? '' : ': a Kafka source needs a grant in AUTH_GRANTS'}`);
  }
  const current: Scope | undefined = state.status === 'NONE' ? undefined : { cluster: state.cluster, namespace: state.namespace };
  if (access && current && !permits(access.grants, 'read', current)) {
    throw new DomainError(ErrorCode.RELEASE_NOT_FOUND, `Release '${command.data.releaseId}' does not exist`, { releaseId: command.data.releaseId });
  }
  const action = actionOf(command);
  let target = current;
  if (command.type === 'InstallRelease') {
    target = { cluster: installCluster(command.data, state, trust), namespace: command.data.namespace };
    if (current && current.cluster !== target.cluster) {
      throw new DomainError(ErrorCode.RELEASE_IN_ANOTHER_CLUSTER, `Release '${command.data.releaseId}' lives in cluster '${current.cluster}'; a release cannot move to '${target.cluster}'`, {
        cluster: current.cluster,
      });
    }
    if (access && current && !permits(access.grants, action, current)) forbidden(access, 'install over this release', current);
    if (access && !permits(access.grants, action, target)) forbidden(access, 'install', target);
    requireKnownScope(trust, target);
  }
  if (!target) return access?.authenticated === false ? { unauthenticated: true } : {};
  if (access && !permits(access.grants, action, target)) forbidden(access, action === 'rollback' ? 'roll back' : 'change releases', target);
  const trusted: Trusted = access?.authenticated === false ? { unauthenticated: true } : {};
  const freeze = trust.freezeAt?.(target);
  if (!freeze || (!access && freeze.allowAutomatic)) return trusted;
  const breakGlass = 'breakGlass' in command.data ? command.data.breakGlass : undefined;
  if (access && breakGlass && permits(access.grants, 'breakGlass', target)) {
    return { ...trusted, breakGlass: { reason: breakGlass.reason, window: freeze.window } };
  }
  throw new DomainError(
    ErrorCode.CHANGE_FREEZE,
    `Changes to cluster '${target.cluster}', namespace '${target.namespace}' are frozen by window '${freeze.window}' until ${freeze.endsAt}` +
      (access && breakGlass ? `; breaking glass needs the admin role there` : '; an admin may break glass with a reason'),
    { window: freeze.window, endsAt: freeze.endsAt, cluster: target.cluster, namespace: target.namespace },
  );
};
