/**
 * Commands of the release aggregate and `decide`: one small pure function per command.
 * A decision either returns the events to append or throws a DomainError with a stable code.
 */
import { assertNever, CommandMetadata, Decider } from '../core/decider';
import { DomainError, ErrorCode } from '../core/domain-error';
import {
  ChartRef,
  evolve,
  ExistingRelease,
  heldRevision,
  initialState,
  isQuarantined,
  lastSuccessfulRevision,
  latestRevision,
  newestRevisionWhere,
  OperationRequest,
  ReleaseEvent,
  ReleaseState,
  Revision,
  revisionNumbers,
  Trigger,
  Values,
} from './release';

/** An operation that reports no outcome within its timeout plus this grace is failed by the watchdog. */
export const DEADLINE_GRACE_SECONDS = 60;
export const DEFAULT_TIMEOUT_SECONDS = 300;

// -------------------------------------------------------------------------------------------- commands

interface Requested {
  releaseId: string;
  reason?: string;
  timeoutSeconds?: number;
}

export type InstallRelease = {
  type: 'InstallRelease';
  data: Requested & {
    name?: string;
    namespace: string;
    chart: ChartRef;
    chartVersion: string;
    values?: Values;
    atomic?: boolean;
    autoRollback?: boolean;
  };
};
export type UpgradeRelease = {
  type: 'UpgradeRelease';
  /** `force`: apply a configuration that failed before (quarantined) anyway. */
  data: Requested & { chartVersion?: string; values?: Values; atomic?: boolean; force?: boolean };
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
export type UninstallRelease = { type: 'UninstallRelease'; data: Requested };
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
  };
};
/** From another service (through the remediation app): a deployed upgrade is reported broken. */
export type ReportUpgradeFailure = {
  type: 'ReportUpgradeFailure';
  data: { releaseId: string; revision: number; reason: string };
};
export type ExpireOperation = { type: 'ExpireOperation'; data: { releaseId: string; operationId: string } };

export type ReleaseCommand =
  | InstallRelease
  | UpgradeRelease
  | RollbackRelease
  | RollbackToLastSuccessful
  | UninstallRelease
  | RecordOperationResult
  | ReportUpgradeFailure
  | ExpireOperation;

export type ReleaseCommandType = ReleaseCommand['type'];

// ---------------------------------------------------------------------------------------------- decide

const revisionList = (release: ExistingRelease): string => revisionNumbers(release).join(', ') || 'none';

const requireRelease = (state: ReleaseState, releaseId: string): ExistingRelease => {
  if (state.status === 'NONE') {
    throw new DomainError(ErrorCode.RELEASE_NOT_FOUND, `Release '${releaseId}' does not exist`, { releaseId });
  }
  return state;
};

const requireIdle = (release: ExistingRelease): void => {
  if (release.pending !== null) {
    throw new DomainError(
      ErrorCode.OPERATION_IN_PROGRESS,
      `Another operation is in progress for release '${release.releaseId}' ` +
        `(${release.pending.kind}${release.pending.revision ? ` of revision ${release.pending.revision}` : ''}, ` +
        `status ${release.status}); retry when it has finished`,
      { releaseId: release.releaseId, releaseStatus: release.status, operationId: release.pending.operationId },
    );
  }
};

const requireInstalled = (release: ExistingRelease): void => {
  if (release.status === 'UNINSTALLED') {
    throw new DomainError(
      ErrorCode.RELEASE_UNINSTALLED,
      `Release '${release.releaseId}' is uninstalled; install it again or roll back to a revision`,
      { releaseId: release.releaseId },
    );
  }
};

const operationRequest = (
  command: Requested,
  metadata: CommandMetadata,
  trigger: Trigger = 'MANUAL',
): OperationRequest => {
  const timeoutSeconds = command.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const deadline = new Date(Date.parse(metadata.now) + (timeoutSeconds + DEADLINE_GRACE_SECONDS) * 1000);
  return {
    // The command id is unique and already an idempotency key, so it doubles as the operation id.
    operationId: metadata.commandId,
    requestedBy: metadata.actor,
    ...(command.reason !== undefined ? { reason: command.reason } : {}),
    requestedAt: metadata.now,
    trigger,
    timeoutSeconds,
    deadline: deadline.toISOString(),
  };
};

const nextRevision = (release: ExistingRelease): number => (release.archivedRevisions ?? 0) + release.revisions.length + 1;

const install = ({ data }: InstallRelease, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  if (state.status !== 'NONE') {
    requireIdle(state);
    if (state.status !== 'UNINSTALLED') {
      throw new DomainError(
        ErrorCode.RELEASE_EXISTS,
        `Release '${data.releaseId}' already exists (status ${state.status}); upgrade or roll it back instead`,
        { releaseId: data.releaseId, releaseStatus: state.status },
      );
    }
  }
  return [
    {
      type: 'InstallRequested',
      data: {
        releaseId: data.releaseId,
        revision: state.status === 'NONE' ? 1 : nextRevision(state),
        name: data.name ?? data.releaseId,
        namespace: data.namespace,
        chart: data.chart,
        chartVersion: data.chartVersion,
        values: data.values ?? {},
        atomic: data.atomic ?? false,
        autoRollback: data.autoRollback ?? false,
        ...operationRequest(data, metadata),
      },
    },
  ];
};

const upgrade = ({ data }: UpgradeRelease, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  requireInstalled(release);
  if (data.chartVersion === undefined && data.values === undefined) {
    throw new DomainError(ErrorCode.VALIDATION_FAILED, 'An upgrade needs a chartVersion, values, or both');
  }
  // What the upgrade does not name is carried over from the current revision, so an upgrade of values
  // alone keeps the chart version and vice versa (Helm's --reuse-values, made explicit and recorded).
  const current = latestRevision(release) as Revision;
  const chartVersion = data.chartVersion ?? current.chartVersion;
  const values = data.values ?? current.values;
  if (isQuarantined(release, chartVersion, values) && !data.force) {
    throw new DomainError(
      ErrorCode.CONFIGURATION_QUARANTINED,
      `Chart ${chartVersion} with these values failed before on release '${release.releaseId}' and is quarantined; ` +
        'send force: true to apply it anyway',
      { chartVersion },
    );
  }
  return [
    {
      type: 'UpgradeRequested',
      data: {
        releaseId: release.releaseId,
        revision: nextRevision(release),
        name: release.name,
        namespace: release.namespace,
        chart: release.chart,
        chartVersion,
        values,
        atomic: data.atomic ?? false,
        ...operationRequest(data, metadata),
        ...(isQuarantined(release, chartVersion, values)
          ? { warnings: [`Chart ${chartVersion} with these values failed before (quarantined); applied because force was set`] }
          : {}),
      },
    },
  ];
};

const rollbackTo = (
  release: ExistingRelease,
  target: Revision,
  command: Requested,
  metadata: CommandMetadata,
  trigger: Trigger,
  causedByRevision?: number,
): ReleaseEvent[] => {
  const warnings =
    target.status === 'FAILED'
      ? [`Revision ${target.revision} never deployed successfully (status FAILED); rolling back to it anyway`]
      : [];
  return [
    {
      type: 'RollbackRequested',
      data: {
        releaseId: release.releaseId,
        revision: nextRevision(release),
        name: release.name,
        namespace: release.namespace,
        chart: release.chart,
        chartVersion: target.chartVersion,
        values: target.values,
        atomic: false,
        rollbackOf: target.revision,
        ...(target.chartDigest !== undefined ? { chartDigest: target.chartDigest } : {}),
        ...(target.helmRevision !== undefined ? { targetHelmRevision: target.helmRevision } : {}),
        ...(causedByRevision !== undefined ? { causedByRevision } : {}),
        warnings,
        ...operationRequest(command, metadata, trigger),
      },
    },
  ];
};

const isRevisionNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1;

const rollback = ({ data }: RollbackRelease, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  if (!isRevisionNumber(data.targetRevision)) {
    throw new DomainError(
      ErrorCode.VALIDATION_FAILED,
      `targetRevision must be an integer >= 1 from the release history; valid revisions: ${revisionList(release)}`,
      { validRevisions: revisionNumbers(release) },
    );
  }
  requireIdle(release);
  const target = heldRevision(release, data.targetRevision);
  if (!target) {
    throw new DomainError(
      ErrorCode.REVISION_NOT_FOUND,
      `Revision ${data.targetRevision} is not in the history of release '${release.releaseId}'; ` +
        `valid revisions: ${revisionList(release)}`,
      { targetRevision: data.targetRevision, validRevisions: revisionNumbers(release) },
    );
  }
  return rollbackTo(release, target, data, metadata, 'MANUAL');
};

/**
 * Rules for automation, so it can never loop: only a failed UPGRADE that is still the latest revision
 * may cause an automatic rollback, and only one per failed revision.
 */
const requireAutomaticRollbackAllowed = (release: ExistingRelease, causedByRevision: number | undefined): void => {
  const refuse = (why: string): never => {
    throw new DomainError(ErrorCode.AUTOMATIC_ROLLBACK_NOT_ALLOWED, `Automatic rollback refused: ${why}`, {
      causedByRevision,
    });
  };
  if (causedByRevision === undefined) return refuse('an automatic rollback must name the failed revision');
  const cause = heldRevision(release, causedByRevision);
  if (!cause) return refuse(`revision ${causedByRevision} is not in the history`);
  if (cause.status !== 'FAILED' && cause.reportedFailure === undefined) return refuse(`revision ${causedByRevision} did not fail`);
  if (cause.operation !== 'UPGRADE') {
    return refuse(`revision ${causedByRevision} is a failed ${cause.operation}, not a failed upgrade`);
  }
  // Rollbacks caused by `cause` come after it, so a state holding `cause` holds them too.
  if (
    release.revisions.some((r) => r.trigger === 'AUTOMATIC' && r.causedByRevision === causedByRevision) ||
    cause.remediation !== undefined
  ) {
    return refuse(`revision ${causedByRevision} already caused an automatic rollback attempt`);
  }
  if (latestRevision(release)?.revision !== causedByRevision) {
    return refuse(`revision ${causedByRevision} is no longer the latest revision`);
  }
};

const rollbackToLastSuccessful = (
  { data }: RollbackToLastSuccessful,
  state: ReleaseState,
  metadata: CommandMetadata,
): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  const trigger = data.trigger ?? 'MANUAL';
  if (trigger === 'AUTOMATIC') {
    requireAutomaticRollbackAllowed(release, data.causedByRevision);
    // Automation never re-applies a configuration that failed, even one that deployed once before.
    const target = newestRevisionWhere(
      release,
      (r) => r.status === 'DEPLOYED' && !isQuarantined(release, r.chartVersion, r.values),
      'the last successful revision outside quarantine',
    );
    if (!target) {
      return [
        {
          type: 'AutomaticRollbackImpossible',
          data: {
            releaseId: release.releaseId,
            causedByRevision: data.causedByRevision!,
            reason: 'no successful revision outside quarantine to roll back to; the release stays FAILED',
            at: metadata.now,
          },
        },
      ];
    }
    return rollbackTo(release, target, data, metadata, trigger, data.causedByRevision);
  }
  const target = lastSuccessfulRevision(release);
  if (!target) {
    throw new DomainError(
      ErrorCode.NO_SUCCESSFUL_REVISION,
      `Release '${release.releaseId}' has no revision in DEPLOYED status to roll back to; ` +
        'perform a fresh upgrade with a known-good configuration, or uninstall and reinstall',
      { releaseId: release.releaseId },
    );
  }
  if (target.revision === latestRevision(release)?.revision && release.status === 'DEPLOYED') {
    throw new DomainError(
      ErrorCode.ALREADY_AT_LAST_SUCCESSFUL,
      `Release '${release.releaseId}' is already at its last successful revision ${target.revision}`,
      { releaseId: release.releaseId, revision: target.revision },
    );
  }
  return rollbackTo(release, target, data, metadata, trigger, data.causedByRevision);
};

const uninstall = ({ data }: UninstallRelease, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  requireInstalled(release);
  return [
    {
      type: 'UninstallRequested',
      data: {
        releaseId: release.releaseId,
        name: release.name,
        namespace: release.namespace,
        ...operationRequest(data, metadata),
      },
    },
  ];
};

/** Whether an outcome for `operationId` was already recorded: a redelivered outcome then changes nothing. */
const alreadyFinished = (release: ExistingRelease, operationId: string): boolean => {
  if (release.finishedUninstalls.includes(operationId)) return true;
  const finished = newestRevisionWhere(release, (r) => r.operationId === operationId, `the revision of operation ${operationId}`);
  return finished !== undefined && (finished.status === 'DEPLOYED' || finished.status === 'FAILED');
};

const requirePendingOperation = (release: ExistingRelease, operationId: string): boolean => {
  if (release.pending?.operationId === operationId) return true;
  if (alreadyFinished(release, operationId)) return false;
  throw new DomainError(
    ErrorCode.OPERATION_NOT_FOUND,
    `Operation '${operationId}' is not an operation of release '${release.releaseId}'`,
    { operationId },
  );
};

const failed = (
  release: ExistingRelease,
  error: string,
  timedOut: boolean,
  now: string,
  purged: boolean,
  helmRevision?: number,
): ReleaseEvent[] => {
  const pending = release.pending!;
  if (pending.kind === 'UNINSTALL') {
    return [
      {
        type: 'UninstallFailed',
        data: { releaseId: release.releaseId, operationId: pending.operationId, error, timedOut, completedAt: now },
      },
    ];
  }
  const operation = pending.kind;
  const events: ReleaseEvent[] = [
    {
      type: 'RevisionFailed',
      data: {
        releaseId: release.releaseId,
        revision: pending.revision!,
        operationId: pending.operationId,
        operation,
        error,
        timedOut,
        remediate: operation === 'UPGRADE' && (pending.atomic || release.autoRollback),
        ...(helmRevision !== undefined ? { helmRevision } : {}),
        completedAt: now,
      },
    },
  ];
  // An atomic install that failed was removed again by Helm: the release is ready for a fresh install.
  if (pending.kind === 'INSTALL' && pending.atomic && purged) {
    events.push({
      type: 'ReleaseUninstalled',
      data: {
        releaseId: release.releaseId,
        operationId: pending.operationId,
        cause: 'ATOMIC_INSTALL_FAILED',
        completedAt: now,
      },
    });
  }
  return events;
};

const recordOperationResult = (
  { data }: RecordOperationResult,
  state: ReleaseState,
  metadata: CommandMetadata,
): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  // Only the first outcome of a pending operation counts; a redelivered or late one is a no-op.
  if (!requirePendingOperation(release, data.operationId)) return [];
  const pending = release.pending!;
  if (data.outcome === 'FAILED') {
    return failed(
      release,
      data.error ?? 'operation failed',
      false,
      metadata.now,
      data.purged ?? false,
      data.helmRevision,
    );
  }
  if (pending.kind === 'UNINSTALL') {
    return [
      {
        type: 'ReleaseUninstalled',
        data: {
          releaseId: release.releaseId,
          operationId: pending.operationId,
          cause: 'UNINSTALL',
          completedAt: metadata.now,
        },
      },
    ];
  }
  return [
    {
      type: 'RevisionDeployed',
      data: {
        releaseId: release.releaseId,
        revision: pending.revision!,
        operationId: pending.operationId,
        ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
        ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
        completedAt: metadata.now,
      },
    },
  ];
};

const reportUpgradeFailure = (
  { data }: ReportUpgradeFailure,
  state: ReleaseState,
  metadata: CommandMetadata,
): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  const revision = heldRevision(release, data.revision);
  const refuse = (why: string): never => {
    throw new DomainError(ErrorCode.VALIDATION_FAILED, `Upgrade failure report refused: ${why}`, { revision: data.revision });
  };
  if (!revision) return refuse(`revision ${data.revision} is not in the history; valid revisions: ${revisionList(release)}`);
  if (revision.operation !== 'UPGRADE' || revision.status !== 'DEPLOYED') {
    return refuse(`revision ${data.revision} is a ${revision.status} ${revision.operation}, not a deployed upgrade`);
  }
  if (latestRevision(release)?.revision !== revision.revision) return refuse(`revision ${data.revision} is no longer the latest`);
  if (revision.reportedFailure !== undefined) return [];
  return [
    {
      type: 'UpgradeFailureReported',
      data: {
        releaseId: release.releaseId,
        revision: revision.revision,
        reason: data.reason,
        reportedBy: metadata.actor,
        remediate: revision.atomic || release.autoRollback,
        at: metadata.now,
      },
    },
  ];
};

const expireOperation = ({ data }: ExpireOperation, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  const release = requireRelease(state, data.releaseId);
  if (!requirePendingOperation(release, data.operationId)) return [];
  const { deadline } = release.pending!;
  if (Date.parse(metadata.now) < Date.parse(deadline)) {
    throw new DomainError(
      ErrorCode.OPERATION_NOT_EXPIRED,
      `Operation '${data.operationId}' has until ${deadline} to report its outcome`,
      { operationId: data.operationId, deadline },
    );
  }
  return failed(release, 'operation timed out', true, metadata.now, false);
};

export const decide = (command: ReleaseCommand, state: ReleaseState, metadata: CommandMetadata): ReleaseEvent[] => {
  switch (command.type) {
    case 'InstallRelease':
      return install(command, state, metadata);
    case 'UpgradeRelease':
      return upgrade(command, state, metadata);
    case 'RollbackRelease':
      return rollback(command, state, metadata);
    case 'RollbackToLastSuccessful':
      return rollbackToLastSuccessful(command, state, metadata);
    case 'UninstallRelease':
      return uninstall(command, state, metadata);
    case 'RecordOperationResult':
      return recordOperationResult(command, state, metadata);
    case 'ReportUpgradeFailure':
      return reportUpgradeFailure(command, state, metadata);
    case 'ExpireOperation':
      return expireOperation(command, state, metadata);
    default:
      return assertNever(command, 'release command');
  }
};

export const releaseDecider: Decider<ReleaseState, ReleaseCommand, ReleaseEvent> = {
  initialState,
  decide,
  evolve,
};
