/**
 * Remediation policy: what automation does after an install or upgrade fails (its tests included). It
 * retries the same desired state as new revisions (trigger AUTOMATIC), spaced by the backoff and asked for
 * by the watchdog once due, then applies the strategy: a rollback to the last successful revision, or an
 * uninstall that keeps the history. Retries count along the chain of attempts, so any manual operation
 * starts the count again. Without a policy, today's rule holds: a failed upgrade of an `autoRollback`
 * release (or an atomic upgrade) is rolled back, once.
 */
import { DomainError, ErrorCode } from '../core/domain-error';
import { ReleaseEvent, RevisionFailed } from './release.events';
import { ExistingRelease, heldRevision, PendingOperation } from './release';
import { latestRevision } from './release.history';
import { retryDelaySeconds, RetryOperation } from './release.commands';
import { Decision, nextRevisionOf, operationRequest, requireIdle, requireRelease } from './release.rules';

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

/** The retry the watchdog asks for: the failed revision's chart version, values, flags and timeout again. */
export const retryOperation: Decision<RetryOperation> = ({ data }, state, metadata) => {
  const release = requireRelease(state, data.releaseId);
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
  const policy = release.remediation!;
  const desired = {
    ...nextRevisionOf(release),
    chartVersion: failed.chartVersion,
    values: failed.values,
    atomic: failed.atomic,
    retryOf: failed.revision,
    attempt: scheduled.attempt,
    warnings: [`Retry ${scheduled.attempt} of ${policy.retries} of failed revision ${failed.revision}`],
    remediation: policy,
    ...operationRequest({ releaseId: release.releaseId, ...(failed.timeoutSeconds ? { timeoutSeconds: failed.timeoutSeconds } : {}) }, metadata, 'AUTOMATIC', {
      test: release.test,
      options: failed.options,
    }),
  };
  const event: ReleaseEvent =
    failed.operation === 'INSTALL'
      ? { type: 'InstallRequested', data: { ...desired, autoRollback: release.autoRollback, ...(release.drift ? { drift: release.drift } : {}) } }
      : { type: 'UpgradeRequested', data: desired };
  return [event];
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
