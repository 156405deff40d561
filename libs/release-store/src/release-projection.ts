import type { OperationOptions, ReleaseEvent, ReleaseIdentity, ReleasePolicies, ReleaseStatus, Revision, RevisionOperation, RevisionStatus, RevisionTrigger, ScheduledRetry, TestResult } from '@app/domain';
import { changeOf, withPolicies } from '@app/domain';
import type { Commit } from '@app/event-store';

/**
 * The read model of releases: one document per release (status, current and last successful revision)
 * and one per revision, so a release with ten thousand revisions never nears the document size limit.
 * Updated idempotently by stream version and rebuildable from the log at any time.
 */
export interface ReleaseView extends ReleaseIdentity, ReleasePolicies {
  _id: string;
  /** The stream version this view reflects; a commit at or below it is already applied. */
  version: number;
  /**
   * False from drift found (an EXTERNAL revision is the newest) until the service deploys a revision of
   * its own; absent in views written before drift was checked: true.
   */
  inSync?: boolean;
  /** The newest Helm revision the history knows of (what a drift check compares Helm's history with). */
  knownHelmRevision?: number;
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
  /** The retry remediation scheduled (absent or null: none); `retrying` is true exactly while there is one, for the watchdog's equality query. */
  retry?: ScheduledRetry | null;
  retrying?: true;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RevisionView {
  _id: string;
  releaseId: string;
  revision: number;
  operation: RevisionOperation;
  chartVersion: string;
  /** Exact JSON of the values (see the note on JSON strings in mongo-event-store.ts). */
  valuesJson: string;
  chartDigest: string | null;
  status: RevisionStatus;
  rollbackOf: number | null;
  causedByRevision: number | null;
  trigger: RevisionTrigger;
  requestedBy: string;
  /** requestedBy is a Kafka source's claim, not a verified identity. */
  unauthenticated?: true;
  /** Made during a freeze window by an admin: the reason and the window. */
  breakGlass?: { reason: string; window: string } | null;
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
  /** Helm's flags the operation ran with (absent in views written before they were recorded: none). */
  options?: OperationOptions | null;
  tests?: TestResult | null;
  timeoutSeconds?: number | null;
  /** A retry by remediation of revision causedByRevision: its attempt. */
  attempt?: number | null;
}

/**
 * A revision write of the projection: a new revision, fields of an existing one, or an existing one
 * copied to another number (`move`: a pending revision recorded drift was put before; its old number is
 * then rewritten whole by the next op).
 */
export type RevisionOp = { insert: RevisionView } | { id: string; set: Partial<RevisionView> } | { move: { from: string; to: string; revision: number } };

export const revisionKey = (releaseId: string, revision: number) => `${releaseId}:${String(revision).padStart(8, '0')}`;

/** The view with its equality flags (`pending`, `retrying`) as its fields say. */
export const withPendingFlag = (view: ReleaseView): ReleaseView => {
  const { pending: _, retrying: _retrying, ...rest } = view;
  return { ...rest, ...(view.pendingOperationId !== null ? { pending: true as const } : {}), ...(view.retry ? { retrying: true as const } : {}) };
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

/** A revision as the read model stores it: absent fields as null, text sealed at rest. */
const revisionView = (releaseId: string, r: Revision, seal: (text: string) => string): RevisionView => ({
  _id: revisionKey(releaseId, r.revision),
  releaseId,
  revision: r.revision,
  operation: r.operation,
  chartVersion: r.chartVersion,
  valuesJson: seal(JSON.stringify(r.values)),
  chartDigest: r.chartDigest ?? null,
  status: r.status,
  rollbackOf: r.rollbackOf ?? null,
  causedByRevision: r.causedByRevision ?? null,
  trigger: r.trigger,
  requestedBy: r.requestedBy,
  ...(r.unauthenticated ? { unauthenticated: true as const } : {}),
  breakGlass: r.breakGlass ?? null,
  reason: r.reason ?? null,
  requestedAt: r.requestedAt,
  completedAt: r.completedAt ?? null,
  error: r.error === undefined ? null : seal(r.error),
  helmRevision: r.helmRevision ?? null,
  operationId: r.operationId,
  atomic: r.atomic,
  warnings: r.warnings,
  remediation: r.remediation ?? null,
  reportedFailure: r.reportedFailure ?? null,
  options: r.options ?? null,
  tests: r.tests ?? null,
  timeoutSeconds: r.timeoutSeconds ?? null,
  attempt: r.attempt ?? null,
});

/**
 * One event's effect on the release's view, and the revision writes it adds to `revisionOps`: the
 * domain's own change (changeOf), laid out as the view's fields; only what the view alone keeps (its
 * lastSuccessfulRevision, its first creation) is worked out here.
 */
const projectEvent = (
  view: ReleaseView | null,
  event: ReleaseEvent,
  commit: Commit,
  revisionOps: RevisionOp[],
  seal: (text: string) => string,
): ReleaseView | null => {
  const { releaseId } = event.data;
  const change = changeOf(event, view?.chart.name);
  const { status, pending, lastError, chart, added, changed, recorded, retry } = change;
  if (added) revisionOps.push({ insert: revisionView(releaseId, added, seal) });
  const moves = recorded?.movesPending;
  if (moves) revisionOps.push({ move: { from: revisionKey(releaseId, moves.revision), to: revisionKey(releaseId, moves.movedTo), revision: moves.movedTo } });
  for (const r of recorded?.revisions ?? []) {
    const doc = revisionView(releaseId, r, seal);
    // The revision it replaces (an adopting install's, which never ran), or the number a moved one left,
    // is rewritten whole.
    if (r.revision === recorded!.replaces || r.revision === moves?.revision) {
      const { _id, ...set } = doc;
      revisionOps.push({ id: _id, set });
    } else revisionOps.push({ insert: doc });
  }
  const newestRecorded = recorded?.revisions[recorded.revisions.length - 1];
  const deployedRecorded = recorded?.revisions.filter((r) => r.status === 'DEPLOYED').pop();
  if (changed) {
    const { error, ...set } = changed.change;
    revisionOps.push({ id: revisionKey(releaseId, changed.revision), set: { ...set, ...(error !== undefined ? { error: seal(error) } : {}) } });
  }
  if (!view && !(added && 'name' in event.data)) throw new Error(`Event ${event.type} cannot apply to a release that was never installed`);
  let next: ReleaseView =
    view ??
    ({
      _id: releaseId,
      releaseId,
      version: 0,
      autoRollback: false,
      currentRevision: 0,
      lastSuccessfulRevision: null,
      pendingOperationId: null,
      pendingDeadline: null,
      lastError: null,
      createdAt: commit.metadata.now,
      updatedAt: commit.metadata.now,
    } as ReleaseView);
  if (added && 'name' in event.data) {
    next = { ...next, cluster: event.data.cluster, name: event.data.name, namespace: event.data.namespace, currentRevision: added.revision };
    if (event.type === 'InstallRequested') next = { ...next, autoRollback: event.data.autoRollback, drift: event.data.drift ?? 'record', inSync: true };
  }
  // The policies, as the aggregate keeps them.
  next = withPolicies(next, change);
  if (moves) next = { ...next, currentRevision: moves.movedTo };
  else if (newestRecorded) next = { ...next, currentRevision: newestRecorded.revision, inSync: event.type !== 'DriftDetected' };
  if (deployedRecorded) next = { ...next, lastSuccessfulRevision: Math.max(next.lastSuccessfulRevision ?? 0, deployedRecorded.revision) };
  if (event.type === 'RevisionDeployed') next = { ...next, inSync: true };
  const helmRevisions = [changed?.change.helmRevision, ...(recorded?.revisions ?? []).map((r) => r.helmRevision)].filter((h): h is number => h !== undefined);
  if (helmRevisions.length) next = { ...next, knownHelmRevision: Math.max(next.knownHelmRevision ?? 0, ...helmRevisions) };
  return {
    ...next,
    ...(status !== undefined ? { status } : {}),
    ...(chart !== undefined ? { chart } : {}),
    ...(retry !== undefined ? { retry } : {}),
    ...(pending !== undefined ? { pendingOperationId: pending?.operationId ?? null, pendingDeadline: pending?.deadline ?? null } : {}),
    ...(lastError !== undefined ? { lastError: lastError === null ? null : seal(lastError) } : {}),
    ...(changed?.change.status === 'DEPLOYED' && changed.change.tests?.result !== 'FAILED' ? { lastSuccessfulRevision: Math.max(next.lastSuccessfulRevision ?? 0, changed.revision) } : {}),
  };
};
