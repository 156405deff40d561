/**
 * What each release event changes, written once. `evolve` (the aggregate's state) and the read model's
 * projection both apply `changeOf`, so a transition (PENDING_UPGRADE -> DEPLOYED, say) and what it does to
 * the revision it names have one definition; each adds only its own bookkeeping.
 */
import { assertNever } from '../core/decider';
import type { PendingOperation, Revision } from './release';
import { ChartRef, DesiredRevision, Operation, ReleaseEvent, ReleaseStatus } from './release.events';

/** The fields of a revision that its outcome, or a later report, changes. */
export type RevisionChange = Partial<Pick<Revision, 'status' | 'completedAt' | 'error' | 'helmRevision' | 'chartDigest' | 'reportedFailure' | 'remediation'>>;

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
}

const revisionFrom = (data: DesiredRevision, operation: Operation, extra: Partial<Revision> = {}): Revision => ({
  revision: data.revision,
  operation,
  chartVersion: data.chartVersion,
  values: data.values,
  status: `PENDING_${operation}`,
  trigger: data.trigger,
  requestedBy: data.requestedBy,
  ...(data.reason !== undefined ? { reason: data.reason } : {}),
  requestedAt: data.requestedAt,
  operationId: data.operationId,
  atomic: data.atomic,
  warnings: [],
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
  },
});

const requested = (data: DesiredRevision, operation: Operation, extra: Partial<Revision> = {}): ReleaseChange => ({
  status: `PENDING_${operation}`,
  pending: { operationId: data.operationId, kind: operation, revision: data.revision, atomic: data.atomic, deadline: data.deadline },
  chart: data.chart,
  added: revisionFrom(data, operation, extra),
});

export const changeOf = (event: ReleaseEvent): ReleaseChange => {
  switch (event.type) {
    case 'InstallRequested':
      return requested(event.data, 'INSTALL');
    case 'UpgradeRequested':
      return requested(event.data, 'UPGRADE', { warnings: event.data.warnings ?? [] });
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
        changed: {
          revision: data.revision,
          change: {
            status: 'FAILED',
            completedAt: data.completedAt,
            error: data.error,
            ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
          },
        },
      };
    }
    case 'UninstallRequested':
      return {
        status: 'PENDING_UNINSTALL',
        pending: { operationId: event.data.operationId, kind: 'UNINSTALL', atomic: false, deadline: event.data.deadline },
      };
    case 'ReleaseUninstalled':
      return { status: 'UNINSTALLED', pending: null };
    case 'UninstallFailed':
      return { status: 'FAILED', pending: null, lastError: event.data.error };
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
