/** Decisions on what happened to an operation: its outcome, a reported failure, its deadline passing. */
import { DomainError, ErrorCode } from '../core/domain-error';
import { ReleaseEvent } from './release.events';
import { fold } from '../core/decider';
import { evolve, ExistingRelease, heldRevision, newestRevisionWhere, ReleaseState } from './release';
import { adoptionEvents, driftBeforeOperation } from './release.drift';
import { remediationOf } from './release.remediation';
import { latestRevision } from './release.history';
import { ExpireOperation, RecordOperationResult, ReportUpgradeFailure } from './release.commands';
import { Decision, requireIdle, requireRelease, revisionList } from './release.rules';

/** The error the watchdog records for an operation whose outcome did not arrive in time. */
export const TIMED_OUT = 'operation timed out';

/**
 * A success for an operation the watchdog already failed as timed out: the revision did deploy, so the
 * record is corrected (RevisionDeployedLate). Anything else that comes late changes nothing.
 */
const lateOutcome = (release: ExistingRelease, data: RecordOperationResult['data'], now: string): ReleaseEvent[] => {
  if (data.outcome !== 'SUCCEEDED' || release.finishedUninstalls.includes(data.operationId)) return [];
  const revision = newestRevisionWhere(release, (r) => r.operationId === data.operationId, `the revision of operation ${data.operationId}`);
  if (!revision || revision.status !== 'FAILED' || !revision.error?.startsWith(TIMED_OUT)) return [];
  const releaseDeployed = release.pending === null && release.status === 'FAILED' && latestRevision(release)?.revision === revision.revision;
  return [
    {
      type: 'RevisionDeployedLate',
      data: {
        releaseId: release.releaseId,
        revision: revision.revision,
        operationId: data.operationId,
        ...(data.helmRevision !== undefined ? { helmRevision: data.helmRevision } : {}),
        ...(data.chartDigest !== undefined ? { chartDigest: data.chartDigest } : {}),
        completedAt: now,
        releaseDeployed,
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
  notRun = false,
  tests?: RecordOperationResult['data']['tests'],
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
        ...remediationOf(release, pending, { notRun, timedOut, purged }, now),
        ...(helmRevision !== undefined ? { helmRevision } : {}),
        ...(tests ? { tests } : {}),
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

export const recordOperationResult: Decision<RecordOperationResult> = ({ data }, state, metadata) => {
  const release = requireRelease(state, data.releaseId);
  // Only the first outcome of a pending operation counts; a redelivered one is a no-op, and a late one
  // corrects a timeout the watchdog recorded meanwhile.
  if (!requirePendingOperation(release, data.operationId)) return lateOutcome(release, data, metadata.now);
  const pending = release.pending!;
  const released: ReleaseEvent[] = data.lockReleased
    ? [{ type: 'HelmLockReleased', data: { ...data.lockReleased, releaseId: release.releaseId, operationId: pending.operationId, at: metadata.now } }]
    : [];
  if (data.imported?.length) {
    if (pending.kind !== 'INSTALL' || !pending.adopt) {
      throw new DomainError(ErrorCode.VALIDATION_FAILED, `Operation '${pending.operationId}' is not an adopting install: it imports nothing`, { operationId: pending.operationId });
    }
    return [...released, ...adoptionEvents(release, data.imported, metadata.now)];
  }
  // Revisions made outside the service that the executor found before it ran: recorded first, before the
  // operation's revision, which the outcome then names where it moved.
  const drift = data.external?.length ? driftBeforeOperation(release, data.external, metadata.now) : [];
  const after = fold(evolve, release as ReleaseState, drift) as ExistingRelease;
  return [...released, ...drift, ...outcomeEvents(after, data, metadata.now)];
};

/** The events of the first outcome of the pending operation. */
const outcomeEvents = (release: ExistingRelease, data: RecordOperationResult['data'], now: string): ReleaseEvent[] => {
  const pending = release.pending!;
  if (data.outcome === 'FAILED') {
    return failed(release, data.error ?? 'operation failed', false, now, data.purged ?? false, data.helmRevision, data.notRun ?? false, data.tests);
  }
  if (pending.kind === 'UNINSTALL') {
    return [
      {
        type: 'ReleaseUninstalled',
        data: {
          releaseId: release.releaseId,
          operationId: pending.operationId,
          cause: 'UNINSTALL',
          completedAt: now,
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
        ...(data.tests ? { tests: data.tests } : {}),
        // Tests that failed and were ignored by policy: their output is kept as the revision's error.
        ...(data.tests?.result === 'FAILED' && data.error !== undefined ? { error: data.error } : {}),
        completedAt: now,
      },
    },
  ];
};

export const reportUpgradeFailure: Decision<ReportUpgradeFailure> = ({ data }, state, metadata) => {
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

export const expireOperation: Decision<ExpireOperation> = ({ data }, state, metadata) => {
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
  return failed(release, data.reason ? `${TIMED_OUT}: ${data.reason}` : TIMED_OUT, true, metadata.now, false);
};
