/**
 * The release aggregate's values and events: what a release's history is made of. State and `evolve` are in
 * release.ts, decisions in release.decide.ts.
 */

// ---------------------------------------------------------------------------------------------- values

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Values = { [key: string]: JsonValue };

/** A chart: its name plus the repository URL it comes from, or an `oci://` reference. */
export interface ChartRef {
  name: string;
  repository: string;
}

export type Operation = 'INSTALL' | 'UPGRADE' | 'ROLLBACK';
/**
 * How a revision came into the history: an operation of the service, or a Helm revision made outside it,
 * IMPORTED when the release was adopted and EXTERNAL when found later (drift).
 */
export type RevisionOperation = Operation | 'IMPORTED' | 'EXTERNAL';
export type Trigger = 'MANUAL' | 'AUTOMATIC';
/** Who made a revision: a person or pipeline (MANUAL), automation (AUTOMATIC), or a Helm client outside the service. */
export type RevisionTrigger = Trigger | 'EXTERNAL';
/** What the service does about a Helm revision made outside it: record it, or record it and restore the recorded desired state. */
export type DriftPolicy = 'record' | 'correct';

/**
 * Helm's flags for one install, upgrade or rollback, recorded on its revision: a rollback to the revision
 * applies them again unless it names its own. Absent: Helm's default (`wait` is the service's default, true).
 */
export interface OperationOptions {
  /** `--wait` (default true): the operation succeeds once its resources are ready. */
  wait?: boolean;
  /** `--wait-for-jobs`: also wait for the release's Jobs to complete (needs `wait`). */
  waitForJobs?: boolean;
  /** `--no-hooks`: skip the chart's hooks (pre-upgrade, pre-rollback, ...). */
  noHooks?: boolean;
  /** `--cleanup-on-fail`: delete the resources a failed upgrade or rollback created. */
  cleanupOnFail?: boolean;
  /** Helm's `--force`: replace resources that cannot be patched (not the quarantine override of an upgrade). */
  force?: boolean;
}

/** Post-deploy verification of a release: `helm test` after every successful install, upgrade and rollback. */
export interface TestPolicy {
  enable: boolean;
  /** How long `helm test` may run (default DEFAULT_TEST_TIMEOUT_SECONDS). */
  timeoutSeconds?: number;
  /** A failed test leaves the revision DEPLOYED, with the failure recorded, instead of failing it. */
  ignoreFailures?: boolean;
}

/**
 * What automation does after an install or upgrade fails (its tests included): try the same desired state
 * again `retries` times, spaced by the backoff, then apply `strategy` (unless `remediateLastFailure` is
 * false, which leaves the last failure as it is). Absent: a failed upgrade of an `autoRollback` release
 * is rolled back, and nothing else is done.
 */
export interface RemediationPolicy {
  retries: number;
  strategy: 'rollback' | 'uninstall';
  remediateLastFailure?: boolean;
  backoff?: { initialSeconds: number; factor: number; maxSeconds: number };
}

/** A retry of a failed revision that the watchdog asks for once `notBefore` has passed. */
export interface ScheduledRetry {
  revision: number;
  /** 1 for the first retry. */
  attempt: number;
  notBefore: string;
}

/** What `helm test` said about a revision; `ignored`: it failed and the policy keeps the revision DEPLOYED. */
export interface TestResult {
  result: 'PASSED' | 'FAILED';
  ignored?: true;
}
export type RevisionStatus = 'PENDING_INSTALL' | 'PENDING_UPGRADE' | 'PENDING_ROLLBACK' | 'DEPLOYED' | 'FAILED';
export type ReleaseStatus = RevisionStatus | 'PENDING_UNINSTALL' | 'UNINSTALLED';
export type OperationKind = Operation | 'UNINSTALL';

/** A change an admin made during a freeze window: why, and which window it broke. */
export interface BreakGlass {
  reason: string;
  window: string;
}

/** What every requested operation records about who asked, why, and until when it may run. */
export interface OperationRequest {
  operationId: string;
  requestedBy: string;
  /** The actor is the `source` a Kafka command claimed, not an identity the service verified. */
  unauthenticated?: true;
  /** An admin changed the release during a freeze window, with this reason. */
  breakGlass?: BreakGlass;
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
  /** The cluster the release lives in: only an executor serving it runs the operation. */
  cluster: string;
  name: string;
  namespace: string;
  chart: ChartRef;
  chartVersion: string;
  values: Values;
  atomic: boolean;
  /** The newest Helm revision the history knows of: newer ones the service did not make are drift. */
  knownHelmRevision?: number;
  /** Helm's flags for this operation (see OperationOptions); absent: the defaults. */
  options?: OperationOptions;
  /** The release's verification policy when the operation was asked for: the executor runs `helm test` after it. */
  test?: TestPolicy;
  /** A retry (install or upgrade) of the failed revision `retryOf`, its `attempt`-th. */
  retryOf?: number;
  attempt?: number;
}

// ---------------------------------------------------------------------------------------------- events

export type InstallRequested = {
  type: 'InstallRequested';
  /** `adopt`: when Helm already holds the release, import its history instead of installing over it. */
  data: DesiredRevision & { autoRollback: boolean; adopt?: boolean; drift?: DriftPolicy; remediation?: RemediationPolicy; warnings?: string[] };
};
/** `remediation`: the release's remediation policy from this upgrade on (like `test`). */
export type UpgradeRequested = { type: 'UpgradeRequested'; data: DesiredRevision & { warnings?: string[]; remediation?: RemediationPolicy } };
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
/**
 * A success reported after the watchdog had failed the operation as timed out: the revision did deploy.
 * The record is corrected, not rewritten (the RevisionFailed stays in the log). `releaseDeployed`: nothing
 * happened to the release since, so it is DEPLOYED again.
 */
export type RevisionDeployedLate = {
  type: 'RevisionDeployedLate';
  data: RevisionDeployed['data'] & { releaseDeployed: boolean };
};
/** A Helm revision another client left pending-* (its lock), judged stale and marked failed in Helm. */
export interface ReleasedLock {
  helmRevision: number;
  /** Its status when it was released (pending-install, pending-upgrade, pending-rollback). */
  status: string;
  chart: string;
  /** When it was last updated in Helm, if Helm said. */
  since?: string;
  /** How long it had been pending, in seconds, when it was released. */
  ageSeconds: number;
}
/** The executor released a stale Helm lock before it ran the operation: recorded, as nothing the service does goes unrecorded. */
export type HelmLockReleased = {
  type: 'HelmLockReleased';
  data: ReleasedLock & { releaseId: string; operationId: string; at: string };
};
/** A Helm revision the service did not make, as Helm's storage holds it (chart, values, status, description). */
export interface HelmMadeRevision {
  helmRevision: number;
  chartName: string;
  chartVersion: string;
  values: Values;
  /** Helm's status of the revision: deployed, superseded, failed, uninstalled. */
  helmStatus: string;
  description: string;
  /** When Helm last updated it. */
  updatedAt: string;
}
/** A Helm-made revision with the number it gets in the service's history. */
export type RecordedHelmRevision = HelmMadeRevision & { revision: number };
/**
 * An install with `adopt` found a Helm release of that namespace and name made outside the service: its
 * history is imported (IMPORTED revisions, in Helm's order) in place of the install's revision, which never
 * ran, and the release continues from Helm's latest revision.
 */
export type ReleaseAdopted = {
  type: 'ReleaseAdopted';
  data: { releaseId: string; operationId: string; replacesRevision: number; revisions: RecordedHelmRevision[]; completedAt: string };
};
/**
 * Helm revisions someone made outside the service, found by a drift check or before an operation: recorded
 * as EXTERNAL revisions. `correction`: what the policy did about it (a rollback to the recorded desired
 * state follows in the same commit, or why not).
 */
export type DriftDetected = {
  type: 'DriftDetected';
  data: {
    releaseId: string;
    revisions: RecordedHelmRevision[];
    policy: DriftPolicy;
    correction: string;
    at: string;
    /**
     * Found by an operation before it ran: they are recorded before its revision, which moves from
     * `revision` to `movedTo` (after them), so the history keeps Helm's order.
     */
    pendingMoved?: { revision: number; movedTo: number };
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
    /** What the release's tests said, when its policy ran them. */
    tests?: TestResult;
    /** Tests that failed and were ignored by policy: their output. */
    error?: string;
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
    /** The revision deployed but its tests failed (error: TESTS_FAILED and their output). */
    tests?: TestResult;
    /** With `remediate`: what remediation does (absent: rollback). */
    strategy?: RemediationPolicy['strategy'];
    /** The release's remediation policy tries it again (the watchdog asks once notBefore has passed). */
    retry?: Omit<ScheduledRetry, 'revision'>;
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
  /** `causedByRevision`: an uninstall by remediation (strategy uninstall) after that revision failed. */
  data: OperationRequest & { releaseId: string; cluster: string; name: string; namespace: string; causedByRevision?: number };
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
  | HelmLockReleased
  | ReleaseAdopted
  | DriftDetected
  | RevisionDeployed
  | RevisionDeployedLate
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
  'HelmLockReleased',
  'ReleaseAdopted',
  'DriftDetected',
  'RevisionDeployed',
  'RevisionDeployedLate',
  'RevisionFailed',
  'UninstallRequested',
  'ReleaseUninstalled',
  'UninstallFailed',
  'UpgradeFailureReported',
  'AutomaticRollbackImpossible',
];

/** Events that ask the executor to act. */
export type OperationRequested = InstallRequested | UpgradeRequested | RollbackRequested | UninstallRequested;

/** JSON with object keys sorted at every level: equal values give equal text. */
export const canonicalJson = (value: JsonValue): string =>
  JSON.stringify(value, (_key, v: JsonValue) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as { [k: string]: JsonValue })[k]]))
      : v,
  );
