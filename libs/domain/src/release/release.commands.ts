/** The commands of the release aggregate: what people, pipelines and the system may ask of a release. */
import { ChartRef, DriftPolicy, HelmMadeRevision, OperationOptions, ReleasedLock, RemediationPolicy, TestPolicy, TestResult, Trigger, Values } from './release.events';

/** An operation that reports no outcome within its timeout plus this grace is failed by the watchdog. */
export const DEADLINE_GRACE_SECONDS = 60;
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** The longest an operation may be given to run. */
export const MAX_TIMEOUT_SECONDS = 3600;
/** How long `helm test` may run when the release's test policy does not say. */
export const DEFAULT_TEST_TIMEOUT_SECONDS = 300;
/** The default backoff between retries: 10 s, doubling, at most 5 min. */
export const DEFAULT_RETRY_BACKOFF = { initialSeconds: 10, factor: 2, maxSeconds: 300 };
/** How long to wait before retry `attempt` (1 for the first) under `policy`. */
export const retryDelaySeconds = (policy: RemediationPolicy, attempt: number): number => {
  const { initialSeconds, factor, maxSeconds } = policy.backoff ?? DEFAULT_RETRY_BACKOFF;
  return Math.min(maxSeconds, initialSeconds * factor ** (attempt - 1));
};
/** How long the tests of `policy` may run after an operation: none when it runs none. */
export const testSeconds = (policy: TestPolicy | undefined): number => (policy?.enable ? (policy.timeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS) : 0);

export interface Requested {
  releaseId: string;
  reason?: string;
  timeoutSeconds?: number;
  /** Helm's flags for the operation (install, upgrade, rollback). */
  options?: OperationOptions;
  /** Change the release during a freeze window anyway (admins only), recorded with the reason. */
  breakGlass?: { reason: string };
}

export type InstallRelease = {
  type: 'InstallRelease';
  data: Requested & {
    /** The cluster to install in (default: the release's earlier one, else the configured default). */
    cluster?: string;
    name?: string;
    namespace: string;
    chart: ChartRef;
    chartVersion: string;
    values?: Values;
    atomic?: boolean;
    autoRollback?: boolean;
    /** Take over a Helm release of this namespace and name made outside the service, with its history. */
    adopt?: boolean;
    /** What to do about Helm revisions made outside the service later (default record). */
    drift?: DriftPolicy;
    /** Verification after every successful operation (default: none). */
    test?: TestPolicy;
    /** Retries and a strategy after a failed install or upgrade (default: autoRollback alone). */
    remediation?: RemediationPolicy;
  };
};
export type UpgradeRelease = {
  type: 'UpgradeRelease';
  /**
   * `force`: apply a configuration that failed before (quarantined) anyway (Helm's --force is
   * `options.force`). `test`: the release's verification policy from this upgrade on.
   */
  data: Requested & { chartVersion?: string; values?: Values; atomic?: boolean; force?: boolean; test?: TestPolicy; remediation?: RemediationPolicy };
};
export type RollbackRelease = {
  type: 'RollbackRelease';
  /** `unknown` on purpose: commands arrive from Kafka too, and the rules on the target are the domain's. */
  data: Requested & { targetRevision: unknown };
};
export type RollbackToLastSuccessful = {
  type: 'RollbackToLastSuccessful';
  data: Requested & { trigger?: Trigger; causedByRevision?: number };
};
/** `trigger: AUTOMATIC` with `causedByRevision`: remediation's uninstall after that revision failed. */
export type UninstallRelease = { type: 'UninstallRelease'; data: Requested & { trigger?: Trigger; causedByRevision?: number } };
/**
 * Run a failed install or upgrade again with its chart version, values, flags and timeout. AUTOMATIC (the
 * watchdog): the retry the remediation policy scheduled for `revision` is due. MANUAL (the default; a
 * person's "try again", Flux's reset): the latest revision (or `revision`, which must be it), as a new
 * chain, so the policy's retries count again from zero.
 */
export type RetryOperation = { type: 'RetryOperation'; data: Requested & { revision?: number; trigger?: Trigger } };
export type RecordOperationResult = {
  type: 'RecordOperationResult';
  data: {
    releaseId: string;
    operationId: string;
    outcome: 'SUCCEEDED' | 'FAILED';
    error?: string;
    helmRevision?: number;
    chartDigest?: string;
    /** Helm removed what a failed atomic install had created. */
    purged?: boolean;
    /**
     * The executor ran nothing (it refused before Helm, or another Helm client held the release): the
     * cluster is as it was, so a failure is not rolled back automatically.
     */
    notRun?: boolean;
    /** A stale Helm lock the executor released before it ran the operation (see HelmLockReleased). */
    lockReleased?: ReleasedLock;
    /** An adopting install found Helm's release: its revisions, oldest first, to import (nothing was run). */
    imported?: HelmMadeRevision[];
    /** Helm revisions made outside the service since the newest its history knows of, found before running. */
    external?: HelmMadeRevision[];
    /** What `helm test` said after the operation, when the release's policy ran it. */
    tests?: TestResult;
  };
};
/**
 * From the executor's drift check: Helm's revisions of the release made outside the service, newer than
 * the newest Helm revision the service knew of when it asked (empty: in sync).
 */
export type RecordDriftCheck = {
  type: 'RecordDriftCheck';
  data: { releaseId: string; revisions: HelmMadeRevision[]; checkedAt: string };
};
/** From another service (through the remediation app): a deployed upgrade is reported broken. */
export type ReportUpgradeFailure = {
  type: 'ReportUpgradeFailure';
  data: { releaseId: string; revision: number; reason: string };
};
/** `reason`: what the watchdog knows of why nobody reported (no executor of the release's cluster is reporting, say). */
export type ExpireOperation = { type: 'ExpireOperation'; data: { releaseId: string; operationId: string; reason?: string } };

export type ReleaseCommand =
  | InstallRelease
  | UpgradeRelease
  | RollbackRelease
  | RollbackToLastSuccessful
  | UninstallRelease
  | RecordOperationResult
  | RecordDriftCheck
  | ReportUpgradeFailure
  | ExpireOperation
  | RetryOperation;

export type ReleaseCommandType = ReleaseCommand['type'];
