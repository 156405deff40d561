/** The preconditions and building blocks every decision of the release aggregate shares. */
import { CommandMetadata } from '../core/decider';
import { DomainError, ErrorCode } from '../core/domain-error';
import { OperationOptions, OperationRequest, ReleaseEvent, TestPolicy, Trigger } from './release.events';
import { Trusted, TrustContext } from './release.access';
import { ExistingRelease, ReleaseState, Revision, revisionNumbers } from './release';
import { DEADLINE_GRACE_SECONDS, DEFAULT_TIMEOUT_SECONDS, ReleaseCommand, Requested, testSeconds } from './release.commands';

/** A decision on one kind of command: the events it leads to, or a DomainError. */
export type Decision<Command extends ReleaseCommand> = (command: Command, state: ReleaseState, metadata: ReleaseCommandMetadata) => ReleaseEvent[];

/** What a release decision is told besides its stream: facts the caller looked up across releases. */
export interface ReleaseCommandMetadata extends CommandMetadata, TrustContext {
  /** What checkTrust found, set by `decide` for the decision to record. */
  trusted?: Trusted;
  /**
   * For an install: the release that holds the Helm release's namespace and name in the cluster (the
   * name registry the caller keeps). Another release holding them refuses the install.
   */
  nameHeldBy?: string;
  /**
   * For an install: the Helm release the cluster holds at its namespace and name, as the executor last
   * listed it (the caller's inventory). A new release id without adopt is refused over it.
   */
  helmHolds?: { revision: number; chart: string; status: string; seenAt: string };
}

export const revisionList = (release: ExistingRelease): string => revisionNumbers(release).join(', ') || 'none';

export const requireRelease = (state: ReleaseState, releaseId: string): ExistingRelease => {
  if (state.status === 'NONE') {
    throw new DomainError(ErrorCode.RELEASE_NOT_FOUND, `Release '${releaseId}' does not exist`, { releaseId });
  }
  return state;
};

export const requireIdle = (release: ExistingRelease): void => {
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

export const requireInstalled = (release: ExistingRelease): void => {
  if (release.status === 'UNINSTALLED') {
    throw new DomainError(
      ErrorCode.RELEASE_UNINSTALLED,
      `Release '${release.releaseId}' is uninstalled; install it again or roll back to a revision`,
      { releaseId: release.releaseId },
    );
  }
};

/**
 * Who asked, why and until when; with `helm` (an install, upgrade or rollback) also Helm's flags and the
 * test policy it runs under, whose tests the deadline leaves time for.
 */
export const operationRequest = (
  command: Requested,
  metadata: ReleaseCommandMetadata,
  trigger: Trigger = 'MANUAL',
  helm: { test?: TestPolicy; options?: OperationOptions } = {},
): OperationRequest & { test?: TestPolicy; options?: OperationOptions } => {
  const timeoutSeconds = command.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const deadline = new Date(Date.parse(metadata.now) + (timeoutSeconds + testSeconds(helm.test) + DEADLINE_GRACE_SECONDS) * 1000);
  return {
    ...(helm.options && Object.keys(helm.options).length ? { options: helm.options } : {}),
    ...(helm.test?.enable ? { test: helm.test } : {}),
    // The command id is unique and already an idempotency key, so it doubles as the operation id.
    operationId: metadata.commandId,
    requestedBy: metadata.actor,
    ...metadata.trusted,
    ...(command.reason !== undefined ? { reason: command.reason } : {}),
    requestedAt: metadata.now,
    trigger,
    timeoutSeconds,
    deadline: deadline.toISOString(),
  };
};

export const nextRevision = (release: ExistingRelease): number => (release.archivedRevisions ?? 0) + release.revisions.length + 1;

/**
 * The newest Helm revision the release's history knows of (made by the service or recorded from Helm):
 * the executor reports Helm revisions above it that the service did not make as drift. Helm numbers a
 * release's revisions in order (the service uninstalls with --keep-history), so it is the one the newest
 * revision carrying a Helm number holds; it is read from the newest end because every decision asks.
 */
export const knownHelmRevision = (release: ExistingRelease): number | undefined => {
  for (let i = release.revisions.length - 1; i >= 0; i -= 1) {
    const known = release.revisions[i].helmRevision;
    if (known !== undefined) return known;
  }
  return undefined;
};

/** Where the next revision of an existing release goes, and the newest Helm revision its history knows of. */
export const nextRevisionOf = (release: ExistingRelease) => {
  const known = knownHelmRevision(release);
  return {
    releaseId: release.releaseId,
    revision: nextRevision(release),
    cluster: release.cluster,
    name: release.name,
    namespace: release.namespace,
    chart: release.chart,
    ...(known !== undefined ? { knownHelmRevision: known } : {}),
  };
};

/** A rollback to `target`: its chart version and values, as a new revision. */
export const rollbackTo = (
  release: ExistingRelease,
  target: Revision,
  command: Requested,
  metadata: ReleaseCommandMetadata,
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
        ...nextRevisionOf(release),
        chartVersion: target.chartVersion,
        values: target.values,
        atomic: false,
        rollbackOf: target.revision,
        ...(target.chartDigest !== undefined ? { chartDigest: target.chartDigest } : {}),
        ...(target.helmRevision !== undefined ? { targetHelmRevision: target.helmRevision } : {}),
        ...(causedByRevision !== undefined ? { causedByRevision } : {}),
        warnings,
        // The target's flags and timeout again, unless the rollback names its own (flag by flag).
        ...operationRequest({ ...command, timeoutSeconds: command.timeoutSeconds ?? target.timeoutSeconds }, metadata, trigger, {
          test: release.test,
          options: { ...target.options, ...command.options },
        }),
      },
    },
  ];
};

