import type { ChartRef, Operation, ReleaseEvent, ReleaseStatus, RevisionStatus, Trigger } from '@app/domain';
import { assertNever } from '@app/domain';
import type { Commit } from '@app/event-store';

/**
 * The read model of releases: one document per release (status, current and last successful revision)
 * and one per revision, so a release with ten thousand revisions never nears the document size limit.
 * Updated idempotently by stream version and rebuildable from the log at any time.
 */
export interface ReleaseView {
  _id: string;
  releaseId: string;
  /** The stream version this view reflects; a commit at or below it is already applied. */
  version: number;
  name: string;
  namespace: string;
  chart: ChartRef;
  autoRollback: boolean;
  status: ReleaseStatus;
  currentRevision: number;
  lastSuccessfulRevision: number | null;
  pendingOperationId: string | null;
  /** When the pending operation may be failed by the watchdog. */
  pendingDeadline: string | null;
  /**
   * Present (true) exactly while an operation is pending. The watchdog's query is an equality on it, which
   * FerretDB hands to PostgreSQL; a range or $ne filter it evaluates in Go over every release.
   */
  pending?: true;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RevisionView {
  _id: string;
  releaseId: string;
  revision: number;
  operation: Operation;
  chartVersion: string;
  /** Exact JSON of the values (see the note on JSON strings in mongo-event-store.ts). */
  valuesJson: string;
  chartDigest: string | null;
  status: RevisionStatus;
  rollbackOf: number | null;
  causedByRevision: number | null;
  trigger: Trigger;
  requestedBy: string;
  reason: string | null;
  requestedAt: string;
  completedAt: string | null;
  error: string | null;
  helmRevision: number | null;
  operationId: string;
  atomic: boolean;
  warnings: string[];
  remediation: string | null;
  reportedFailure: string | null;
}

/** A revision write of the projection: a new revision, or fields of an existing one. */
export type RevisionOp = { insert: RevisionView } | { id: string; set: Partial<RevisionView> };

export const revisionKey = (releaseId: string, revision: number) => `${releaseId}:${String(revision).padStart(8, '0')}`;

export const withPendingFlag = (view: ReleaseView): ReleaseView => {
  const { pending: _, ...rest } = view;
  return view.pendingOperationId !== null ? { ...rest, pending: true } : rest;
};

/**
 * The view after `commits` and the revision writes that go with it: a pure function of the release's
 * events (no I/O). `seal` seals text at rest (values, error text) when a key is configured.
 */
export const projectCommits = (
  current: ReleaseView | null,
  commits: Commit[],
  seal: (text: string) => string = (text) => text,
): { view: ReleaseView | null; revisionOps: RevisionOp[] } => {
  let view = current;
  const revisionOps: RevisionOp[] = [];
  for (const commit of commits) {
    if (view && commit.version <= view.version) continue;
    for (const event of commit.events as unknown as ReleaseEvent[]) {
      view = projectEvent(view, event, commit, revisionOps, seal);
    }
    if (view) view = withPendingFlag({ ...view, version: commit.version, updatedAt: commit.metadata.now });
  }
  return { view, revisionOps };
};

/** One event's effect on the release's view, and the revision writes it adds to `revisionOps`. */
const projectEvent = (
  view: ReleaseView | null,
  event: ReleaseEvent,
  commit: Commit,
  revisionOps: RevisionOp[],
  seal: (text: string) => string,
): ReleaseView | null => {
  const setRevision = (releaseId: string, revision: number, set: Partial<RevisionView>) =>
    revisionOps.push({ id: revisionKey(releaseId, revision), set });
  switch (event.type) {
    case 'InstallRequested':
    case 'UpgradeRequested':
    case 'RollbackRequested': {
      const d = event.data;
      const operation: Operation =
        event.type === 'InstallRequested' ? 'INSTALL' : event.type === 'UpgradeRequested' ? 'UPGRADE' : 'ROLLBACK';
      const rollback = event.type === 'RollbackRequested' ? event.data : undefined;
      const insert: RevisionView = {
        _id: revisionKey(d.releaseId, d.revision),
        releaseId: d.releaseId,
        revision: d.revision,
        operation,
        chartVersion: d.chartVersion,
        valuesJson: seal(JSON.stringify(d.values)),
        chartDigest: rollback?.chartDigest ?? null,
        status: `PENDING_${operation}`,
        rollbackOf: rollback?.rollbackOf ?? null,
        causedByRevision: rollback?.causedByRevision ?? null,
        trigger: d.trigger,
        requestedBy: d.requestedBy,
        reason: d.reason ?? null,
        requestedAt: d.requestedAt,
        completedAt: null,
        error: null,
        helmRevision: null,
        operationId: d.operationId,
        atomic: d.atomic,
        warnings: rollback?.warnings ?? (event.type === 'UpgradeRequested' ? (event.data.warnings ?? []) : []),
        remediation: null,
        reportedFailure: null,
      };
      revisionOps.push({ insert });
      const base: ReleaseView = view ?? {
        _id: d.releaseId,
        releaseId: d.releaseId,
        version: 0,
        name: d.name,
        namespace: d.namespace,
        chart: d.chart,
        autoRollback: false,
        status: 'PENDING_INSTALL',
        currentRevision: 0,
        lastSuccessfulRevision: null,
        pendingOperationId: null,
        pendingDeadline: null,
        lastError: null,
        createdAt: commit.metadata.now,
        updatedAt: commit.metadata.now,
      };
      return {
        ...base,
        name: d.name,
        namespace: d.namespace,
        chart: d.chart,
        ...(event.type === 'InstallRequested' ? { autoRollback: event.data.autoRollback } : {}),
        status: `PENDING_${operation}`,
        currentRevision: d.revision,
        pendingOperationId: d.operationId,
        pendingDeadline: d.deadline,
      };
    }
    case 'RevisionDeployed': {
      const d = event.data;
      setRevision(d.releaseId, d.revision, {
        status: 'DEPLOYED',
        completedAt: d.completedAt,
        ...(d.helmRevision !== undefined ? { helmRevision: d.helmRevision } : {}),
        ...(d.chartDigest !== undefined ? { chartDigest: d.chartDigest } : {}),
      });
      const v = view!;
      return {
        ...v,
        status: 'DEPLOYED',
        lastSuccessfulRevision: Math.max(v.lastSuccessfulRevision ?? 0, d.revision),
        pendingOperationId: null,
        pendingDeadline: null,
        lastError: null,
      };
    }
    case 'RevisionFailed': {
      const d = event.data;
      setRevision(d.releaseId, d.revision, {
        status: 'FAILED',
        completedAt: d.completedAt,
        error: seal(d.error),
        ...(d.helmRevision !== undefined ? { helmRevision: d.helmRevision } : {}),
      });
      return { ...view!, status: 'FAILED', pendingOperationId: null, pendingDeadline: null, lastError: seal(d.error) };
    }
    case 'UninstallRequested':
      return {
        ...view!,
        status: 'PENDING_UNINSTALL',
        pendingOperationId: event.data.operationId,
        pendingDeadline: event.data.deadline,
      };
    case 'ReleaseUninstalled':
      return { ...view!, status: 'UNINSTALLED', pendingOperationId: null, pendingDeadline: null };
    case 'UninstallFailed':
      return { ...view!, status: 'FAILED', pendingOperationId: null, pendingDeadline: null, lastError: seal(event.data.error) };
    case 'UpgradeFailureReported':
      setRevision(event.data.releaseId, event.data.revision, { reportedFailure: event.data.reason });
      return view;
    case 'AutomaticRollbackImpossible':
      setRevision(event.data.releaseId, event.data.causedByRevision, {
        remediation: `automatic rollback impossible: ${event.data.reason}`,
      });
      return view;
    default:
      return assertNever(event, 'release event');
  }
};
