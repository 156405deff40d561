/**
 * Remediation policy: what automation does after an install or upgrade fails (its tests included). It
 * retries the same desired state as new revisions (trigger AUTOMATIC), spaced by the backoff and asked for
 * by the watchdog once due, then applies the strategy: a rollback to the last successful revision, or an
 * uninstall that keeps the history. Retries count along the chain of attempts, so any manual operation
 * starts the count again. Without a policy, today's rule holds: a failed upgrade of an `autoRollback`
 * release (or an atomic upgrade) is rolled back, once.
 */
import { DomainError, ErrorCode } from '../core/domain-error';
import { ReleaseEvent, RevisionFailed, Trigger } from './release.events';
import { ExistingRelease, heldRevision, PendingOperation, Revision } from './release';
import { latestRevision } from './release.history';
import { Requested, retryDelaySeconds, RetryOperation } from './release.commands';
import { Decision, nextRevisionOf, operationRequest, ReleaseCommandMetadata, requireIdle, requireRelease } from './release.rules';

type Remediation = Pick<RevisionFailed['data'], 'remediate' | 'strategy' | 'retry'>;

/** What is done about a failed operation: nothing, undo it (and how), or try it again later. */
export const remediationOf = (
  release: ExistingRelease,
  pending: PendingOperation,
  facts: { notRun: boolean; timedOut: boolean; purged: boolean },
  now: string,
): Remediation => {
  // Nothing ran, nothing changed; and a timeout is an unknown outcome (a late success corrects it).
  if (facts.notRun || facts.timedOut) return { remediate: false };
  const policy = release.remediation;
  if (!policy) return { remediate: pending.kind === 'UPGRADE' && (pending.atomic || release.autoRollback) };
  if (pending.kind !== 'INSTALL' && pending.kind !== 'UPGRADE') return { remediate: false };
  const failed = heldRevision(release, pending.revision!);
  const attempt = (failed?.attempt ?? 0) + 1;
  if (attempt <= policy.retries) {
    const notBefore = new Date(Date.parse(now) + retryDelaySeconds(policy, attempt) * 1000).toISOString();
    return { remediate: false, retry: { attempt, notBefore } };
  }
  // An atomic install that Helm removed is uninstalled already.
  if (policy.remediateLastFailure === false || (policy.strategy === 'uninstall' && facts.purged)) return { remediate: false };
  return { remediate: true, strategy: policy.strategy };
};

/** A retry: the failed revision's chart version, values, flags and timeout again (see RetryOperation). */
export const retryOperation: Decision<RetryOperation> = (command, state, metadata) => {
  const release = requireRelease(state, command.data.releaseId);
  return command.data.trigger === 'AUTOMATIC' ? scheduledRetry(release, command, metadata) : manualRetry(release, command, metadata);
};

/** The retry the watchdog asks for, once the one scheduled is due. */
const scheduledRetry = (release: ExistingRelease, { data }: RetryOperation, metadata: ReleaseCommandMetadata): ReleaseEvent[] => {
  const scheduled = release.retry;
  if (!scheduled || scheduled.revision !== data.revision) {
    throw new DomainError(
      ErrorCode.RETRY_NOT_SCHEDULED,
      `No retry of revision ${data.revision} is scheduled for release '${release.releaseId}'` +
        (scheduled ? ` (one of revision ${scheduled.revision} is)` : '; an operation since then, or the policy, ended the retries'),
      { revision: data.revision },
    );
  }
  requireIdle(release);
  if (Date.parse(metadata.now) < Date.parse(scheduled.notBefore)) {
    throw new DomainError(ErrorCode.RETRY_NOT_DUE, `The retry of revision ${data.revision} is due at ${scheduled.notBefore}`, { notBefore: scheduled.notBefore });
  }
  const failed = heldRevision(release, scheduled.revision)!;
  const warning = `Retry ${scheduled.attempt} of ${release.remediation?.retries ?? scheduled.attempt} of failed revision ${failed.revision}`;
  return [again(release, failed, { releaseId: release.releaseId }, metadata, 'AUTOMATIC', warning, scheduled.attempt)];
};

/** A person's retry of the latest revision, failed: a new chain of attempts (the policy's retries count again). */
const manualRetry = (release: ExistingRelease, { data }: RetryOperation, metadata: ReleaseCommandMetadata): ReleaseEvent[] => {
  requireIdle(release);
  const latest = latestRevision(release);
  const refuse = (why: string): never => {
    throw new DomainError(ErrorCode.NOTHING_TO_RETRY, `Retry refused: ${why}`, { revision: data.revision ?? latest?.revision });
  };
  if (!latest) return refuse('the release has no revision');
  if (data.revision !== undefined && data.revision !== latest.revision) return refuse(`revision ${data.revision} is not the latest (${latest.revision}); only the latest failure is retried`);
  if (latest.status !== 'FAILED' || (latest.operation !== 'INSTALL' && latest.operation !== 'UPGRADE')) {
    return refuse(`revision ${latest.revision} is a ${latest.status} ${latest.operation}, not a failed install or upgrade`);
  }
  // The failed configuration is quarantined; asking for it again by name is the person's explicit choice.
  return [again(release, latest, data, metadata, 'MANUAL', `Manual retry of failed revision ${latest.revision}; remediation counts its retries again`)];
};

/** The failed revision's desired state as a new install or upgrade revision. */
const again = (release: ExistingRelease, failed: Revision, command: Requested, metadata: ReleaseCommandMetadata, trigger: Trigger, warning: string, attempt?: number): ReleaseEvent => {
  const desired = {
    ...nextRevisionOf(release),
    chartVersion: failed.chartVersion,
    values: failed.values,
    atomic: failed.atomic,
    ...(attempt !== undefined ? { retryOf: failed.revision, attempt } : {}),
    warnings: [warning],
    ...(release.remediation ? { remediation: release.remediation } : {}),
    ...operationRequest({ ...command, timeoutSeconds: command.timeoutSeconds ?? failed.timeoutSeconds }, metadata, trigger, { test: release.test, options: failed.options }),
  };
  return failed.operation === 'INSTALL'
    ? { type: 'InstallRequested', data: { ...desired, autoRollback: release.autoRollback, ...(release.drift ? { drift: release.drift } : {}) } }
    : { type: 'UpgradeRequested', data: desired };
};

/** Remediation's uninstall (strategy uninstall): only for the latest revision, failed, of a release whose policy says so. */
export const requireAutomaticUninstallAllowed = (release: ExistingRelease, causedByRevision: number | undefined): void => {
  const refuse = (why: string): never => {
    throw new DomainError(ErrorCode.AUTOMATIC_ROLLBACK_NOT_ALLOWED, `Automatic uninstall refused: ${why}`, { causedByRevision });
  };
  if (release.remediation?.strategy !== 'uninstall') return refuse("the release's remediation strategy is not uninstall");
  if (causedByRevision === undefined) return refuse('an automatic uninstall must name the failed revision');
  const latest = latestRevision(release);
  if (latest?.revision !== causedByRevision) return refuse(`revision ${causedByRevision} is not the latest revision`);
  if (latest.status !== 'FAILED') return refuse(`revision ${causedByRevision} did not fail`);
};
