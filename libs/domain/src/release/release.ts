/**
 * The release aggregate's state and `evolve`. Its events are in release.events.ts, decisions in
 * release.decide.ts, history queries and compaction in release.history.ts. Pure TypeScript: no framework,
 * no I/O, no clock.
 */
import { assertNever, NeedsFullHistory } from '../core/decider';
import {
  ChartRef,
  DesiredRevision,
  Operation,
  OperationKind,
  ReleaseEvent,
  ReleaseStatus,
  RevisionStatus,
  Trigger,
  Values,
  canonicalJson,
} from './release.events';

// ----------------------------------------------------------------------------------------------- state

export interface Revision {
  revision: number;
  operation: Operation;
  chartVersion: string;
  values: Values;
  chartDigest?: string;
  status: RevisionStatus;
  rollbackOf?: number;
  causedByRevision?: number;
  trigger: Trigger;
  requestedBy: string;
  reason?: string;
  requestedAt: string;
  completedAt?: string;
  error?: string;
  helmRevision?: number;
  operationId: string;
  atomic: boolean;
  warnings: string[];
  /** What automation did about this revision's failure, when it could not roll back. */
  remediation?: string;
  /** A failure reported by another service after the revision deployed (its status stays DEPLOYED). */
  reportedFailure?: string;
}

/** A configuration (chart version + values) that failed: automation never applies it again. */
export interface QuarantinedConfiguration {
  chartVersion: string;
  /** Canonical JSON of the values (keys sorted), so equal values compare equal. */
  values: string;
  revision: number;
}

export interface PendingOperation {
  operationId: string;
  kind: OperationKind;
  /** The revision being deployed; absent for an uninstall. */
  revision?: number;
  atomic: boolean;
  deadline: string;
}

export interface ExistingRelease {
  status: ReleaseStatus;
  releaseId: string;
  name: string;
  namespace: string;
  chart: ChartRef;
  autoRollback: boolean;
  /**
   * The revisions held, oldest first. Revisions are numbered 1..n without gaps; a compacted state (see
   * compactRelease) holds only the newest of them, and `archivedRevisions` counts the ones left out.
   */
  revisions: Revision[];
  /** How many of the oldest revisions (1..archivedRevisions) this state does not hold; absent: none. */
  archivedRevisions?: number;
  pending: PendingOperation | null;
  /** Operation ids of uninstalls already finished, so a late duplicate outcome is recognised. */
  finishedUninstalls: string[];
  quarantined: QuarantinedConfiguration[];
  lastError?: string;
}

/** No release under this id yet: the only command that makes sense is an install. */
export interface NoRelease {
  status: 'NONE';
}

export type ReleaseState = NoRelease | ExistingRelease;

export const initialState = (): ReleaseState => ({ status: 'NONE' });

// ---------------------------------------------------------------------------------------------- evolve

const revisionFrom = (
  data: DesiredRevision,
  operation: Operation,
  extra: Partial<Revision> = {},
): Revision => ({
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

const pendingFrom = (data: DesiredRevision, kind: Operation): PendingOperation => ({
  operationId: data.operationId,
  kind,
  revision: data.revision,
  atomic: data.atomic,
  deadline: data.deadline,
});

/**
 * The revision numbered `revision` if the state holds it, undefined if the release has no such revision.
 * A revision the state left out (compacted) cannot be answered from it: NeedsFullHistory.
 */
export const heldRevision = (state: ExistingRelease, revision: number): Revision | undefined => {
  if (revision >= 1 && revision <= (state.archivedRevisions ?? 0)) throw new NeedsFullHistory(`revision ${revision}`);
  return state.revisions.find((r) => r.revision === revision);
};

/** The newest revision matching `test`, searching into left-out history only by asking for it. */
export const newestRevisionWhere = (state: ExistingRelease, test: (r: Revision) => boolean, what: string): Revision | undefined => {
  for (let i = state.revisions.length - 1; i >= 0; i -= 1) if (test(state.revisions[i])) return state.revisions[i];
  if (state.archivedRevisions) throw new NeedsFullHistory(what);
  return undefined;
};

/** Every revision number of the release, held or not (they are 1..n without gaps). */
export const revisionNumbers = (state: ExistingRelease): number[] => [
  ...Array.from({ length: state.archivedRevisions ?? 0 }, (_, i) => i + 1),
  ...state.revisions.map((r) => r.revision),
];

const updateRevision = (
  state: ExistingRelease,
  revision: number,
  change: Partial<Revision>,
): Revision[] => {
  heldRevision(state, revision);
  return state.revisions.map((r) => (r.revision === revision ? { ...r, ...change } : r));
};

const existing = (state: ReleaseState, event: ReleaseEvent): ExistingRelease => {
  if (state.status === 'NONE') {
    throw new Error(`Event ${event.type} cannot apply to a release that was never installed`);
  }
  return state;
};

export const evolve = (state: ReleaseState, event: ReleaseEvent): ReleaseState => {
  switch (event.type) {
    case 'InstallRequested': {
      const { data } = event;
      const previous = state.status === 'NONE' ? [] : state.revisions;
      return {
        status: 'PENDING_INSTALL',
        releaseId: data.releaseId,
        name: data.name,
        namespace: data.namespace,
        chart: data.chart,
        autoRollback: data.autoRollback,
        revisions: [...previous, revisionFrom(data, 'INSTALL')],
        ...(state.status !== 'NONE' && state.archivedRevisions ? { archivedRevisions: state.archivedRevisions } : {}),
        pending: pendingFrom(data, 'INSTALL'),
        finishedUninstalls: state.status === 'NONE' ? [] : state.finishedUninstalls,
        quarantined: state.status === 'NONE' ? [] : state.quarantined,
      };
    }
    case 'UpgradeRequested': {
      const release = existing(state, event);
      return {
        ...release,
        status: 'PENDING_UPGRADE',
        chart: event.data.chart,
        revisions: [...release.revisions, revisionFrom(event.data, 'UPGRADE', { warnings: event.data.warnings ?? [] })],
        pending: pendingFrom(event.data, 'UPGRADE'),
      };
    }
    case 'RollbackRequested': {
      const release = existing(state, event);
      const { data } = event;
      return {
        ...release,
        status: 'PENDING_ROLLBACK',
        chart: data.chart,
        revisions: [
          ...release.revisions,
          revisionFrom(data, 'ROLLBACK', {
            rollbackOf: data.rollbackOf,
            ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
            ...(data.causedByRevision !== undefined ? { causedByRevision: data.causedByRevision } : {}),
            warnings: data.warnings,
          }),
        ],
        pending: pendingFrom(data, 'ROLLBACK'),
      };
    }
    case 'RevisionDeployed': {
      const release = existing(state, event);
      const { data } = event;
      return {
        ...release,
        status: 'DEPLOYED',
        revisions: updateRevision(release, data.revision, {
          status: 'DEPLOYED',
          completedAt: data.completedAt,
          ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
          ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
        }),
        pending: null,
        lastError: undefined,
      };
    }
    case 'RevisionFailed': {
      const release = existing(state, event);
      const { data } = event;
      const failed = heldRevision(release, data.revision);
      return {
        ...release,
        quarantined: failed
          ? [...release.quarantined, { chartVersion: failed.chartVersion, values: canonicalJson(failed.values), revision: failed.revision }]
          : release.quarantined,
        status: 'FAILED',
        revisions: updateRevision(release, data.revision, {
          status: 'FAILED',
          completedAt: data.completedAt,
          error: data.error,
          ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
        }),
        pending: null,
        lastError: data.error,
      };
    }
    case 'UninstallRequested': {
      const release = existing(state, event);
      return {
        ...release,
        status: 'PENDING_UNINSTALL',
        pending: {
          operationId: event.data.operationId,
          kind: 'UNINSTALL',
          atomic: false,
          deadline: event.data.deadline,
        },
      };
    }
    case 'ReleaseUninstalled': {
      const release = existing(state, event);
      const uninstall = event.data.cause === 'UNINSTALL';
      return {
        ...release,
        status: 'UNINSTALLED',
        pending: null,
        finishedUninstalls: uninstall
          ? [...release.finishedUninstalls, event.data.operationId]
          : release.finishedUninstalls,
      };
    }
    case 'UninstallFailed': {
      const release = existing(state, event);
      return {
        ...release,
        status: 'FAILED',
        pending: null,
        finishedUninstalls: [...release.finishedUninstalls, event.data.operationId],
        lastError: event.data.error,
      };
    }
    case 'UpgradeFailureReported': {
      const release = existing(state, event);
      const reported = heldRevision(release, event.data.revision);
      return {
        ...release,
        revisions: updateRevision(release, event.data.revision, { reportedFailure: event.data.reason }),
        quarantined: reported
          ? [...release.quarantined, { chartVersion: reported.chartVersion, values: canonicalJson(reported.values), revision: reported.revision }]
          : release.quarantined,
      };
    }
    case 'AutomaticRollbackImpossible': {
      const release = existing(state, event);
      return {
        ...release,
        revisions: updateRevision(release, event.data.causedByRevision, { remediation: `automatic rollback impossible: ${event.data.reason}` }),
      };
    }
    default:
      return assertNever(event, 'release event');
  }
};
