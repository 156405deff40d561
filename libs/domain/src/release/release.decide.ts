/**
 * `decide` of the release aggregate: one small pure function per command (the commands are in
 * release.commands.ts; outcomes, reported failures and deadlines in release.outcomes.ts).
 * A decision either returns the events to append or throws a DomainError with a stable code.
 */
import { assertNever, Decider } from '../core/decider';
import { DomainError, ErrorCode } from '../core/domain-error';
import { ReleaseEvent } from './release.events';
import { evolve, ExistingRelease, heldRevision, initialState, newestRevisionWhere, ReleaseState, Revision, revisionNumbers } from './release';
import { isQuarantined, lastSuccessfulRevision, latestRevision, succeeded } from './release.history';
import { InstallRelease, ReleaseCommand, RollbackRelease, RollbackToLastSuccessful, UninstallRelease, UpgradeRelease } from './release.commands';
import { expireOperation, recordOperationResult, reportUpgradeFailure } from './release.outcomes';
import { recordDriftCheck } from './release.drift';
import { checkTrust, installCluster } from './release.access';
import { requireAutomaticUninstallAllowed, retryOperation } from './release.remediation';
import { Decision, knownHelmRevision, nextRevisionOf, ReleaseCommandMetadata, nextRevision, operationRequest, requireIdle, requireInstalled, requireRelease, revisionList, rollbackTo } from './release.rules';

const install: Decision<InstallRelease> = ({ data }, state, metadata) => {
  const name = data.name ?? data.releaseId;
  if (metadata.nameHeldBy !== undefined && metadata.nameHeldBy !== data.releaseId) {
    throw new DomainError(
      ErrorCode.RELEASE_NAME_TAKEN,
      `Helm release ${data.namespace}/${name} belongs to release '${metadata.nameHeldBy}'; one Helm release has one history, so install it under that id or choose another name`,
      { namespace: data.namespace, name, heldBy: metadata.nameHeldBy },
    );
  }
  // Only a release id that never had a revision: once it has one, the executor's own reading of Helm's
  // history (which knows the service's marker) tells a Helm release made outside from one of its own.
  if (metadata.helmHolds && !data.adopt && state.status === 'NONE') {
    const { revision, chart, status, seenAt } = metadata.helmHolds;
    throw new DomainError(
      ErrorCode.RELEASE_EXISTS_IN_CLUSTER,
      `Helm already holds ${data.namespace}/${name} at revision ${revision} (${chart}, ${status}; listed at ${seenAt}), made outside the service; ` +
        'adopt it (adopt: true) to take it over with its history, install under another name, or remove it with helm first',
      { namespace: data.namespace, name, helmRevision: revision, chart, helmStatus: status },
    );
  }
  if (state.status !== 'NONE') {
    requireIdle(state);
    // An install that failed before anything deployed (refused before Helm, say) may be asked again.
    const neverDeployed = state.status === 'FAILED' && state.revisions.every((r) => r.operation === 'INSTALL' && r.status === 'FAILED') && !state.archivedRevisions;
    if (state.status !== 'UNINSTALLED' && !neverDeployed) {
      throw new DomainError(
        ErrorCode.RELEASE_EXISTS,
        `Release '${data.releaseId}' already exists (status ${state.status}); upgrade or roll it back instead`,
        { releaseId: data.releaseId, releaseStatus: state.status },
      );
    }
  }
  const known = state.status === 'NONE' ? undefined : knownHelmRevision(state);
  return [
    {
      type: 'InstallRequested',
      data: {
        releaseId: data.releaseId,
        revision: state.status === 'NONE' ? 1 : nextRevision(state),
        cluster: installCluster(data, state, metadata),
        name,
        namespace: data.namespace,
        chart: data.chart,
        chartVersion: data.chartVersion,
        values: data.values ?? {},
        atomic: data.atomic ?? false,
        autoRollback: data.autoRollback ?? false,
        ...(data.adopt ? { adopt: true } : {}),
        ...(data.drift ? { drift: data.drift } : {}),
        ...(known !== undefined ? { knownHelmRevision: known } : {}),
        ...(data.remediation ? { remediation: data.remediation } : {}),
        ...operationRequest(data, metadata, 'MANUAL', { test: data.test, options: data.options }),
      },
    },
  ];
};

const upgrade: Decision<UpgradeRelease> = ({ data }, state, metadata) => {
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
        ...nextRevisionOf(release),
        chartVersion,
        values,
        atomic: data.atomic ?? false,
        ...((data.remediation ?? release.remediation) ? { remediation: data.remediation ?? release.remediation } : {}),
        ...operationRequest(data, metadata, 'MANUAL', { test: data.test ?? release.test, options: data.options }),
        ...(isQuarantined(release, chartVersion, values)
          ? { warnings: [`Chart ${chartVersion} with these values failed before (quarantined); applied because force was set`] }
          : {}),
      },
    },
  ];
};

const isRevisionNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1;

const rollback: Decision<RollbackRelease> = ({ data }, state, metadata) => {
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
  // A failed install too, when the release's remediation policy rolls back (a reinstall had a success before).
  if (cause.operation !== 'UPGRADE' && !(cause.operation === 'INSTALL' && release.remediation?.strategy === 'rollback')) {
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

const rollbackToLastSuccessful: Decision<RollbackToLastSuccessful> = ({ data }, state, metadata) => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  const trigger = data.trigger ?? 'MANUAL';
  if (trigger === 'AUTOMATIC') {
    requireAutomaticRollbackAllowed(release, data.causedByRevision);
    // Automation never re-applies a configuration that failed, even one that deployed once before.
    const target = newestRevisionWhere(
      release,
      (r) => succeeded(r) && !isQuarantined(release, r.chartVersion, r.values),
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

const uninstall: Decision<UninstallRelease> = ({ data }, state, metadata) => {
  const release = requireRelease(state, data.releaseId);
  requireIdle(release);
  requireInstalled(release);
  const automatic = data.trigger === 'AUTOMATIC';
  if (automatic) requireAutomaticUninstallAllowed(release, data.causedByRevision);
  return [
    {
      type: 'UninstallRequested',
      data: {
        releaseId: release.releaseId,
        cluster: release.cluster,
        name: release.name,
        namespace: release.namespace,
        ...(automatic ? { causedByRevision: data.causedByRevision! } : {}),
        ...operationRequest(data, metadata, automatic ? 'AUTOMATIC' : 'MANUAL'),
      },
    },
  ];
};

/** The decision of each command type; the mapped type makes a new command without one a compile error. */
const decisions: { [Type in ReleaseCommand['type']]: Decision<Extract<ReleaseCommand, { type: Type }>> } = {
  InstallRelease: install,
  UpgradeRelease: upgrade,
  RollbackRelease: rollback,
  RollbackToLastSuccessful: rollbackToLastSuccessful,
  UninstallRelease: uninstall,
  RecordOperationResult: recordOperationResult,
  RecordDriftCheck: recordDriftCheck,
  ReportUpgradeFailure: reportUpgradeFailure,
  ExpireOperation: expireOperation,
  RetryOperation: retryOperation,
};

export const decide = (command: ReleaseCommand, state: ReleaseState, metadata: ReleaseCommandMetadata): ReleaseEvent[] => {
  const decision = decisions[command.type] as Decision<ReleaseCommand> | undefined;
  if (!decision) return assertNever(command as never, 'release command');
  return decision(command, state, { ...metadata, trusted: checkTrust(command, state, metadata) });
};

export const releaseDecider: Decider<ReleaseState, ReleaseCommand, ReleaseEvent> = {
  initialState,
  decide,
  evolve,
};
