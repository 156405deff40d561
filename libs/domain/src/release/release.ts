/**
 * The release aggregate: its events, its state and `evolve`. Decisions live in release.decide.ts.
 * Pure TypeScript: no framework, no I/O, no clock.
 */
import { assertNever, NeedsFullHistory } from '../core/decider';

// ---------------------------------------------------------------------------------------------- values

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Values = { [key: string]: JsonValue };

/** A chart: its name plus the repository URL it comes from, or an `oci://` reference. */
export interface ChartRef {
  name: string;
  repository: string;
}

export type Operation = 'INSTALL' | 'UPGRADE' | 'ROLLBACK';
export type Trigger = 'MANUAL' | 'AUTOMATIC';
export type RevisionStatus = 'PENDING_INSTALL' | 'PENDING_UPGRADE' | 'PENDING_ROLLBACK' | 'DEPLOYED' | 'FAILED';
export type ReleaseStatus = RevisionStatus | 'PENDING_UNINSTALL' | 'UNINSTALLED';
export type OperationKind = Operation | 'UNINSTALL';

/** What every requested operation records about who asked, why, and until when it may run. */
export interface OperationRequest {
  operationId: string;
  requestedBy: string;
  reason?: string;
  requestedAt: string;
  trigger: Trigger;
  timeoutSeconds: number;
  /** After this instant the watchdog may fail the operation ("operation timed out"). */
  deadline: string;
}

/**
 * The full desired state of one revision. Every *Requested event carries all of it, so the executor can
 * act on the event alone and re-running it after a crash applies the same state again.
 */
export interface DesiredRevision extends OperationRequest {
  releaseId: string;
  revision: number;
  name: string;
  namespace: string;
  chart: ChartRef;
  chartVersion: string;
  values: Values;
  atomic: boolean;
}

// ---------------------------------------------------------------------------------------------- events

export type InstallRequested = {
  type: 'InstallRequested';
  data: DesiredRevision & { autoRollback: boolean };
};
export type UpgradeRequested = { type: 'UpgradeRequested'; data: DesiredRevision & { warnings?: string[] } };
export type RollbackRequested = {
  type: 'RollbackRequested';
  data: DesiredRevision & {
    rollbackOf: number;
    /** Digest recorded for the target, so the executor can check a re-fetched chart. */
    chartDigest?: string;
    /** Helm's own revision number of the target, when known: lets the executor use `helm rollback`. */
    targetHelmRevision?: number;
    /** For automatic rollbacks: the failed revision that caused it. */
    causedByRevision?: number;
    warnings: string[];
  };
};
export type RevisionDeployed = {
  type: 'RevisionDeployed';
  data: {
    releaseId: string;
    revision: number;
    operationId: string;
    helmRevision?: number;
    chartDigest?: string;
    completedAt: string;
  };
};
export type RevisionFailed = {
  type: 'RevisionFailed';
  data: {
    releaseId: string;
    revision: number;
    operationId: string;
    /** The failed revision's operation, so consumers need no state to react. */
    operation: Operation;
    error: string;
    timedOut: boolean;
    helmRevision?: number;
    /** A failed upgrade that policy says to undo (atomic upgrade or autoRollback release). */
    remediate: boolean;
    completedAt: string;
  };
};
/** Another service reported that a deployed upgrade does not work (smoke tests, SLOs, …). */
export type UpgradeFailureReported = {
  type: 'UpgradeFailureReported';
  data: { releaseId: string; revision: number; reason: string; reportedBy: string; remediate: boolean; at: string };
};
/** Automation was asked to roll back a failed upgrade but had nothing safe to roll back to. */
export type AutomaticRollbackImpossible = {
  type: 'AutomaticRollbackImpossible';
  data: { releaseId: string; causedByRevision: number; reason: string; at: string };
};
export type UninstallRequested = {
  type: 'UninstallRequested';
  data: OperationRequest & { releaseId: string; name: string; namespace: string };
};
export type ReleaseUninstalled = {
  type: 'ReleaseUninstalled';
  data: {
    releaseId: string;
    operationId: string;
    /** UNINSTALL: asked for; ATOMIC_INSTALL_FAILED: Helm removed a failed atomic install. */
    cause: 'UNINSTALL' | 'ATOMIC_INSTALL_FAILED';
    completedAt: string;
  };
};
export type UninstallFailed = {
  type: 'UninstallFailed';
  data: { releaseId: string; operationId: string; error: string; timedOut: boolean; completedAt: string };
};

export type ReleaseEvent =
  | InstallRequested
  | UpgradeRequested
  | RollbackRequested
  | RevisionDeployed
  | RevisionFailed
  | UninstallRequested
  | ReleaseUninstalled
  | UninstallFailed
  | UpgradeFailureReported
  | AutomaticRollbackImpossible;

export type ReleaseEventType = ReleaseEvent['type'];

export const RELEASE_EVENT_TYPES: readonly ReleaseEventType[] = [
  'InstallRequested',
  'UpgradeRequested',
  'RollbackRequested',
  'RevisionDeployed',
  'RevisionFailed',
  'UninstallRequested',
  'ReleaseUninstalled',
  'UninstallFailed',
  'UpgradeFailureReported',
  'AutomaticRollbackImpossible',
];

/** Events that ask the executor to act. */
export type OperationRequested = InstallRequested | UpgradeRequested | RollbackRequested | UninstallRequested;

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

// --------------------------------------------------------------------------------------------- queries

/** JSON with object keys sorted at every level: equal values give equal text. */
export const canonicalJson = (value: JsonValue): string =>
  JSON.stringify(value, (_key, v: JsonValue) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as { [k: string]: JsonValue })[k]]))
      : v,
  );

export const isQuarantined = (state: ExistingRelease, chartVersion: string, values: Values): boolean => {
  const key = canonicalJson(values);
  return state.quarantined.some((q) => q.chartVersion === chartVersion && q.values === key);
};

export const latestRevision = (state: ExistingRelease): Revision | undefined =>
  state.revisions[state.revisions.length - 1];

/** The highest revision that deployed successfully: the safe rollback target. */
export const lastSuccessfulRevision = (state: ExistingRelease): Revision | undefined =>
  newestRevisionWhere(state, (r) => r.status === 'DEPLOYED', 'the last successful revision');

/**
 * How many revisions a compacted release state holds at least. Helm itself keeps 10 by default
 * (--history-max), so rollbacks nearly always target one of these; an older target costs a read of the
 * archived revisions (see compactRelease).
 */
export const RELEASE_HISTORY_WINDOW = 100;
/** Revisions leave a compacted state in whole chunks of this many, each archived once and never changed. */
export const RELEASE_HISTORY_CHUNK = 100;

/**
 * The release state as kept in snapshots and in memory: its oldest revisions cut off in whole chunks of
 * `chunk`, keeping at least the newest `keep`, and counted in `archivedRevisions`. This bounds a load (a
 * 10,000-revision snapshot was 4.2 MB of JSON). Every rule that needs a revision left out throws
 * NeedsFullHistory, so decisions do not change; `restoreRelease` puts the archived revisions back. A
 * revision is left out only once it can no longer change (every event changes the latest revision), and
 * only a state whose revisions are numbered without gaps is compacted (the count then names them).
 */
export const compactRelease = (state: ReleaseState, keep = RELEASE_HISTORY_WINDOW, chunk = RELEASE_HISTORY_CHUNK): ReleaseState => {
  if (state.status === 'NONE') return state;
  const archived = state.archivedRevisions ?? 0;
  const target = Math.floor(Math.max(0, archived + state.revisions.length - keep) / chunk) * chunk;
  if (target <= archived || !state.revisions.every((r, i) => r.revision === archived + i + 1)) return state;
  return { ...state, revisions: state.revisions.slice(target - archived), archivedRevisions: target };
};

/** A compacted state with its archived revisions (1..archivedRevisions, in order) put back: the whole state. */
export const restoreRelease = (state: ReleaseState, archived: Revision[]): ReleaseState => {
  if (state.status === 'NONE' || !state.archivedRevisions) return state;
  if (archived.length !== state.archivedRevisions || !archived.every((r, i) => r.revision === i + 1)) {
    throw new Error(`Archived revisions of release '${state.releaseId}' do not match: expected 1..${state.archivedRevisions}`);
  }
  const { archivedRevisions: _left, ...rest } = state;
  return { ...rest, revisions: [...archived, ...state.revisions] };
};
