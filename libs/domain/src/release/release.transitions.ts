/**
 * What each release event changes, written once. `evolve` (the aggregate's state) and the read model's
 * projection both apply `changeOf`, so a transition (PENDING_UPGRADE -> DEPLOYED, say) and what it does to
 * the revision it names have one definition; each adds only its own bookkeeping.
 */
import { assertNever } from '../core/decider';
import type { PendingOperation, ReleasePolicies, Revision } from './release';
import { ChartRef, DesiredRevision, Operation, RecordedHelmRevision, ReleaseEvent, ReleaseStatus, RevisionStatus, ScheduledRetry } from './release.events';

/** The fields of a revision that its outcome, or a later report, changes. */
export type RevisionChange = Partial<Pick<Revision, 'status' | 'completedAt' | 'error' | 'helmRevision' | 'chartDigest' | 'reportedFailure' | 'remediation' | 'tests'>>;

export interface ReleaseChange {
  /** The release's status after the event; absent: unchanged. */
  status?: ReleaseStatus;
  /** The operation pending after the event (null: none); absent: unchanged. */
  pending?: PendingOperation | null;
  /** The release's last error after the event (null: cleared); absent: unchanged. */
  lastError?: string | null;
  /** The chart the release follows from now on; absent: unchanged. */
  chart?: ChartRef;
  /** The revision the event adds (a requested install, upgrade or rollback). */
  added?: Revision;
  /** What the event changes in a revision the release already has. */
  changed?: { revision: number; change: RevisionChange };
  /**
   * Revisions made outside the service, recorded after the release's, in place of `replaces`, or before
   * the pending revision, which moves after them (`movesPending`).
   */
  recorded?: { revisions: Revision[]; replaces?: number; movesPending?: { revision: number; movedTo: number } };
  /** The retry scheduled after the event (null: none any more); absent: unchanged. */
  retry?: ScheduledRetry | null;
  /** The release's test and remediation policies from the event on (a field left out: none); absent: unchanged. */
  policies?: Pick<ReleasePolicies, 'test' | 'remediation'>;
}

/** An install or upgrade carries the release's policies: its own, or the ones the decision kept. */
const policiesOf = (data: { test?: ReleasePolicies['test']; remediation?: ReleasePolicies['remediation'] }): ReleaseChange['policies'] => ({
  ...(data.test ? { test: data.test } : {}),
  ...(data.remediation ? { remediation: data.remediation } : {}),
});

/** `target` (the state or the view) with the policies of `change`, when it sets them. */
export const withPolicies = <T extends Partial<ReleasePolicies>>(target: T, change: ReleaseChange): T => {
  if (!change.policies) return target;
  const { test: _test, remediation: _remediation, ...rest } = target;
  return { ...rest, ...change.policies } as T;
};

/** Helm's deployed and superseded revisions did deploy; anything else Helm keeps (failed, uninstalled) did not stay. */
const statusOfHelm = (helmStatus: string): RevisionStatus => (helmStatus === 'deployed' || helmStatus === 'superseded' ? 'DEPLOYED' : 'FAILED');

/** A revision made outside the service, as its history holds it: who made it is unknown, Helm's description says why. */
export const revisionOfHelm = (r: RecordedHelmRevision, operation: 'IMPORTED' | 'EXTERNAL', chartName?: string): Revision => ({
  revision: r.revision,
  operation,
  chartVersion: r.chartVersion,
  values: r.values,
  status: statusOfHelm(r.helmStatus),
  trigger: 'EXTERNAL',
  requestedBy: 'unknown (a Helm client outside the service)',
  reason: r.description,
  requestedAt: r.updatedAt,
  completedAt: r.updatedAt,
  ...(statusOfHelm(r.helmStatus) === 'FAILED' ? { error: `Helm status ${r.helmStatus}: ${r.description}` } : {}),
  helmRevision: r.helmRevision,
  operationId: `${operation.toLowerCase()}:helm-${r.helmRevision}`,
  atomic: false,
  warnings: chartName === undefined || r.chartName === chartName ? [] : [`Made with chart ${r.chartName}, not ${chartName}`],
});

/** The release after Helm-made revisions: as its newest one left it. */
const recordedChange = (
  revisions: RecordedHelmRevision[],
  operation: 'IMPORTED' | 'EXTERNAL',
  chartName: string | undefined,
  place: { replaces?: number; movesPending?: { revision: number; movedTo: number } } = {},
): ReleaseChange => {
  const recorded = revisions.map((r) => revisionOfHelm(r, operation, chartName));
  const newest = recorded[recorded.length - 1];
  return {
    // Before a pending operation the release stays as that operation has it.
    ...(newest && !place.movesPending ? { status: newest.status, lastError: newest.error ?? null } : {}),
    recorded: { revisions: recorded, ...place },
  };
};

const revisionFrom = (data: DesiredRevision, operation: Operation, extra: Partial<Revision> = {}): Revision => ({
  revision: data.revision,
  operation,
  chartVersion: data.chartVersion,
  values: data.values,
  status: `PENDING_${operation}`,
  trigger: data.trigger,
  requestedBy: data.requestedBy,
  ...(data.unauthenticated ? { unauthenticated: true as const } : {}),
  ...(data.breakGlass ? { breakGlass: data.breakGlass } : {}),
  ...(data.reason !== undefined ? { reason: data.reason } : {}),
  requestedAt: data.requestedAt,
  operationId: data.operationId,
  atomic: data.atomic,
  warnings: [],
  timeoutSeconds: data.timeoutSeconds,
  ...(data.options && Object.keys(data.options).length ? { options: data.options } : {}),
  ...(data.retryOf !== undefined ? { causedByRevision: data.retryOf, attempt: data.attempt ?? 1 } : {}),
  ...extra,
});

/** The revision of a RevisionDeployed (or RevisionDeployedLate) as it deployed. */
const deployed = (data: Extract<ReleaseEvent, { type: 'RevisionDeployed' }>['data']): ReleaseChange['changed'] => ({
  revision: data.revision,
  change: {
    status: 'DEPLOYED',
    completedAt: data.completedAt,
    ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
    ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
    ...(data.tests !== undefined ? { tests: data.tests } : {}),
    ...(data.error !== undefined ? { error: data.error } : {}),
  },
});

const requested = (data: DesiredRevision, operation: Operation, extra: Partial<Revision> = {}): ReleaseChange => ({
  status: `PENDING_${operation}`,
  pending: {
    operationId: data.operationId,
    kind: operation,
    revision: data.revision,
    atomic: data.atomic,
    deadline: data.deadline,
    ...('adopt' in data && data.adopt ? { adopt: true as const } : {}),
  },
  chart: data.chart,
  added: revisionFrom(data, operation, extra),
  retry: null,
});

/**
 * `chartName`: the chart the release follows, when it has one: a Helm-made revision of another chart is
 * recorded with a warning saying so.
 */
export const changeOf = (event: ReleaseEvent, chartName?: string): ReleaseChange => {
  switch (event.type) {
    case 'InstallRequested':
      return { ...requested(event.data, 'INSTALL', { warnings: event.data.warnings ?? [] }), policies: policiesOf(event.data) };
    case 'UpgradeRequested':
      return { ...requested(event.data, 'UPGRADE', { warnings: event.data.warnings ?? [] }), policies: policiesOf(event.data) };
    case 'RollbackRequested': {
      const { data } = event;
      return requested(data, 'ROLLBACK', {
        rollbackOf: data.rollbackOf,
        ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
        ...(data.causedByRevision !== undefined ? { causedByRevision: data.causedByRevision } : {}),
        warnings: data.warnings,
      });
    }
    case 'RevisionDeployed': {
      const { data } = event;
      return {
        status: 'DEPLOYED',
        pending: null,
        lastError: null,
        changed: deployed(data),
      };
    }
    case 'RevisionDeployedLate': {
      const { data } = event;
      return {
        // The release is left as it is when something happened to it since (a newer revision).
        ...(data.releaseDeployed ? { status: 'DEPLOYED' as const, lastError: null } : {}),
        changed: deployed(data),
      };
    }
    case 'RevisionFailed': {
      const { data } = event;
      return {
        status: 'FAILED',
        pending: null,
        lastError: data.error,
        ...(data.retry ? { retry: { revision: data.revision, ...data.retry } } : {}),
        changed: {
          revision: data.revision,
          change: {
            status: 'FAILED',
            completedAt: data.completedAt,
            error: data.error,
            ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
            ...(data.tests !== undefined ? { tests: data.tests } : {}),
          },
        },
      };
    }
    case 'UninstallRequested':
      return {
        status: 'PENDING_UNINSTALL',
        pending: { operationId: event.data.operationId, kind: 'UNINSTALL', atomic: false, deadline: event.data.deadline },
        retry: null,
      };
    case 'ReleaseUninstalled':
      return { status: 'UNINSTALLED', pending: null };
    case 'UninstallFailed':
      return { status: 'FAILED', pending: null, lastError: event.data.error };
    case 'ReleaseAdopted':
      return { ...recordedChange(event.data.revisions, 'IMPORTED', chartName, { replaces: event.data.replacesRevision }), pending: null };
    case 'DriftDetected':
      return recordedChange(event.data.revisions, 'EXTERNAL', chartName, event.data.pendingMoved ? { movesPending: event.data.pendingMoved } : {});
    case 'HelmLockReleased':
      // Helm's storage changed, not the release: the event is the record.
      return {};
    case 'UpgradeFailureReported':
      return { changed: { revision: event.data.revision, change: { reportedFailure: event.data.reason } } };
    case 'AutomaticRollbackImpossible':
      return { changed: { revision: event.data.causedByRevision, change: { remediation: `automatic rollback impossible: ${event.data.reason}` } } };
    default:
      return assertNever(event, 'release event');
  }
};
