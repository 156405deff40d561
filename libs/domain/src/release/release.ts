/**
 * The release aggregate's state and `evolve`. Its events are in release.events.ts, what each of them
 * changes in release.transitions.ts, decisions in release.decide.ts, history queries and compaction in
 * release.history.ts. Pure TypeScript: no framework, no I/O, no clock.
 */
import { NeedsFullHistory } from '../core/decider';
import { BreakGlass, ChartRef, DriftPolicy, OperationKind, OperationOptions, ReleaseEvent, ReleaseStatus, RemediationPolicy, RevisionOperation, RevisionStatus, RevisionTrigger, ScheduledRetry, TestPolicy, TestResult, Values, canonicalJson } from './release.events';
import { changeOf, ReleaseChange, withPolicies } from './release.transitions';

// ----------------------------------------------------------------------------------------------- state

export interface Revision {
  revision: number;
  operation: RevisionOperation;
  chartVersion: string;
  values: Values;
  chartDigest?: string;
  status: RevisionStatus;
  rollbackOf?: number;
  causedByRevision?: number;
  trigger: RevisionTrigger;
  requestedBy: string;
  /** `requestedBy` is the source a Kafka command claimed, not a verified identity. */
  unauthenticated?: true;
  /** Made during a freeze window by an admin, with the reason given. */
  breakGlass?: BreakGlass;
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
  /** Helm's flags the operation ran with; a rollback to this revision applies them again. */
  options?: OperationOptions;
  /** What `helm test` said after the operation, when the release's policy ran it. */
  tests?: TestResult;
  /** How long Helm was given (absent in revisions recorded before it was): a rollback to it gives it again. */
  timeoutSeconds?: number;
  /** A retry by remediation of the failed revision `causedByRevision`: its attempt (1 for the first). */
  attempt?: number;
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
  /** An install that adopts a Helm release made outside the service when it finds one. */
  adopt?: true;
}

/** Which Helm release a release is and what chart it follows: its state and its read-model view share them. */
export interface ReleaseIdentity {
  releaseId: string;
  /** The cluster it lives in; (cluster, namespace, name) is one Helm release. */
  cluster: string;
  name: string;
  namespace: string;
  chart: ChartRef;
}

/** What automation does for a release, as its install set it (an upgrade may change `test` and `remediation`). */
export interface ReleasePolicies {
  /** Roll a failed upgrade back to the last successful revision. */
  autoRollback: boolean;
  /** What is done about Helm revisions made outside the service; absent: record. */
  drift?: DriftPolicy;
  /** Verification after each successful operation; absent: none. */
  test?: TestPolicy;
  /** Retries and a strategy after a failed install or upgrade; absent: autoRollback alone. */
  remediation?: RemediationPolicy;
}

export interface ExistingRelease extends ReleaseIdentity, ReleasePolicies {
  status: ReleaseStatus;
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
  /** The retry remediation scheduled after the latest revision failed; cleared by any operation. */
  retry?: ScheduledRetry;
}

/** No release under this id yet: the only command that makes sense is an install. */
export interface NoRelease {
  status: 'NONE';
}

export type ReleaseState = NoRelease | ExistingRelease;

export const initialState = (): ReleaseState => ({ status: 'NONE' });

// ---------------------------------------------------------------------------------------------- evolve

/**
 * The revision numbered `revision` if the state holds it, undefined if the release has no such revision.
 * A revision the state left out (compacted) cannot be answered from it: NeedsFullHistory.
 */
export const heldRevision = (state: ExistingRelease, revision: number): Revision | undefined => {
  if (revision >= 1 && revision <= (state.archivedRevisions ?? 0)) throw new NeedsFullHistory(`revision ${revision}`);
  return state.revisions[heldIndex(state, revision)];
};

/**
 * Where revision `revision` sits in `state.revisions`, -1 if it is not there. Revisions are numbered
 * without gaps, so its place is known; it is checked rather than trusted, and found by a search only if
 * the state breaks that rule. A long history is decided on one revision at a time: a search on each
 * decision made building it quadratic.
 */
const heldIndex = (state: ExistingRelease, revision: number): number => {
  const index = revision - (state.archivedRevisions ?? 0) - 1;
  if (state.revisions[index]?.revision === revision) return index;
  return state.revisions.findIndex((r) => r.revision === revision);
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
  if (heldRevision(state, revision) === undefined) return state.revisions;
  const revisions = state.revisions.slice();
  const index = heldIndex(state, revision);
  revisions[index] = { ...revisions[index], ...change };
  return revisions;
};

const existing = (state: ReleaseState, event: ReleaseEvent): ExistingRelease => {
  if (state.status === 'NONE') {
    throw new Error(`Event ${event.type} cannot apply to a release that was never installed`);
  }
  return state;
};

/** The release after `change` (release.transitions.ts), before the state's own bookkeeping. */
const applyChange = (release: ExistingRelease, change: ReleaseChange): ExistingRelease => {
  const { status, pending, lastError, chart, added, changed, recorded, retry } = change;
  if (retry !== undefined) {
    const { retry: _previous, ...rest } = release;
    return applyChange(retry ? { ...rest, retry } : rest, { ...change, retry: undefined });
  }
  if (recorded) {
    const next = applyChange(release, { ...change, recorded: undefined });
    const moves = recorded.movesPending;
    if (moves) {
      // Found before the pending operation ran: recorded before its revision, which moves after them.
      const pendingRevision = release.revisions.find((r) => r.revision === moves.revision)!;
      return {
        ...next,
        pending: next.pending ? { ...next.pending, revision: moves.movedTo } : next.pending,
        revisions: [...release.revisions.filter((r) => r.revision !== moves.revision), ...recorded.revisions, { ...pendingRevision, revision: moves.movedTo }],
      };
    }
    // Helm-made revisions take the place of the one they replace (an adopting install that never ran).
    return { ...next, revisions: [...release.revisions.filter((r) => r.revision !== recorded.replaces), ...recorded.revisions] };
  }
  return {
    ...release,
    ...(status !== undefined ? { status } : {}),
    ...(pending !== undefined ? { pending } : {}),
    ...(lastError !== undefined ? { lastError: lastError ?? undefined } : {}),
    ...(chart !== undefined ? { chart } : {}),
    revisions: added
      ? [...release.revisions, added]
      : changed
        ? updateRevision(release, changed.revision, changed.change)
        : release.revisions,
  };
};

/** A configuration that failed, remembered so automation never applies it again. */
const quarantine = (release: ExistingRelease, revision: number): QuarantinedConfiguration[] => {
  const failed = heldRevision(release, revision);
  return failed
    ? [...release.quarantined, { chartVersion: failed.chartVersion, values: canonicalJson(failed.values), revision: failed.revision }]
    : release.quarantined;
};

export const evolve = (state: ReleaseState, event: ReleaseEvent): ReleaseState => {
  const change = changeOf(event, state.status === 'NONE' ? undefined : state.chart.name);
  if (event.type === 'InstallRequested') {
    // An install starts the release afresh; a re-install after an uninstall keeps its history.
    const { data } = event;
    const previous = state.status === 'NONE' ? undefined : state;
    return {
      status: 'PENDING_INSTALL',
      releaseId: data.releaseId,
      cluster: data.cluster,
      name: data.name,
      namespace: data.namespace,
      chart: data.chart,
      autoRollback: data.autoRollback,
      ...(data.drift ? { drift: data.drift } : {}),
      ...change.policies,
      revisions: [...(previous?.revisions ?? []), change.added!],
      ...(previous?.archivedRevisions ? { archivedRevisions: previous.archivedRevisions } : {}),
      pending: change.pending!,
      finishedUninstalls: previous?.finishedUninstalls ?? [],
      quarantined: previous?.quarantined ?? [],
    };
  }
  const release = existing(state, event);
  const next = withPolicies(applyChange(release, change), change);
  switch (event.type) {
    case 'RevisionFailed':
      return { ...next, quarantined: quarantine(release, event.data.revision) };
    case 'UpgradeFailureReported':
      return { ...next, quarantined: quarantine(release, event.data.revision) };
    case 'RevisionDeployedLate':
      // It did deploy: its configuration was quarantined only because its outcome came late.
      return { ...next, quarantined: release.quarantined.filter((q) => q.revision !== event.data.revision) };
    case 'ReleaseUninstalled':
      return event.data.cause === 'UNINSTALL' ? { ...next, finishedUninstalls: [...release.finishedUninstalls, event.data.operationId] } : next;
    case 'UninstallFailed':
      return { ...next, finishedUninstalls: [...release.finishedUninstalls, event.data.operationId] };
    default:
      return next;
  }
};
