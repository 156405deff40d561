/**
 * Read-side helpers over decisions and state: what a caller is told about an accepted command, and the
 * plan of a rollback for `?dryRun=true`, derived by running the real `decide` without appending anything.
 */
import { CommandMetadata } from '../core/decider';
import { ReleaseEvent, ReleaseStatus, Values } from './release.events';
import { ReleaseState } from './release';
import { latestRevision } from './release.history';
import { RollbackRelease, RollbackToLastSuccessful } from './release.commands';
import { decide } from './release.decide';

export interface DecisionSummary {
  releaseId: string;
  revision?: number;
  status: ReleaseStatus;
  operationId?: string;
  targetRevision?: number;
  chartVersion?: string;
  warnings: string[];
}

/** What an accepted command produced, in the words of the HTTP 202 body and the command-results topic. */
export const summarizeDecision = (releaseId: string, events: readonly ReleaseEvent[], state: ReleaseState): DecisionSummary => {
  // What the decision did; a lock released on the way is part of the record, not the answer.
  const first = events.find((e) => e.type !== 'HelmLockReleased');
  const status: ReleaseStatus = state.status === 'NONE' ? 'UNINSTALLED' : state.status;
  if (!first) return { releaseId, status, warnings: [] };
  switch (first.type) {
    case 'InstallRequested':
    case 'UpgradeRequested':
      return {
        releaseId,
        revision: first.data.revision,
        status,
        operationId: first.data.operationId,
        chartVersion: first.data.chartVersion,
        warnings: first.type === 'UpgradeRequested' ? (first.data.warnings ?? []) : [],
      };
    case 'RollbackRequested':
      return {
        releaseId,
        revision: first.data.revision,
        status,
        operationId: first.data.operationId,
        targetRevision: first.data.rollbackOf,
        chartVersion: first.data.chartVersion,
        warnings: first.data.warnings,
      };
    case 'UninstallRequested':
      return { releaseId, status, operationId: first.data.operationId, warnings: [] };
    case 'RevisionDeployed':
    case 'RevisionDeployedLate':
    case 'RevisionFailed':
      return { releaseId, revision: first.data.revision, status, operationId: first.data.operationId, warnings: [] };
    case 'ReleaseUninstalled':
    case 'UninstallFailed':
      return { releaseId, status, operationId: first.data.operationId, warnings: [] };
    case 'UpgradeFailureReported':
      return { releaseId, revision: first.data.revision, status, warnings: [] };
    case 'AutomaticRollbackImpossible':
      return { releaseId, revision: first.data.causedByRevision, status, warnings: [first.data.reason] };
    case 'ReleaseAdopted':
      return { releaseId, revision: first.data.revisions[first.data.revisions.length - 1]?.revision, status, operationId: first.data.operationId, warnings: [] };
    case 'DriftDetected':
      return { releaseId, revision: first.data.revisions[first.data.revisions.length - 1]?.revision, status, warnings: [`Drift ${first.data.correction}`] };
  }
};

export interface RollbackPlan {
  releaseId: string;
  revision: number;
  targetRevision: number;
  chartVersion: { from?: string; to: string };
  values: { from?: Values; to: Values };
  warnings: string[];
}

/** The plan of a rollback: the same rules as the real decision (it throws the same errors). */
export const planRollback = (
  command: RollbackRelease | RollbackToLastSuccessful,
  state: ReleaseState,
  metadata: CommandMetadata,
): RollbackPlan => {
  const [event] = decide(command, state, metadata);
  if (event?.type !== 'RollbackRequested' || state.status === 'NONE') {
    throw new Error('A rollback decision must produce RollbackRequested');
  }
  const current = latestRevision(state);
  return {
    releaseId: event.data.releaseId,
    revision: event.data.revision,
    targetRevision: event.data.rollbackOf,
    chartVersion: { ...(current ? { from: current.chartVersion } : {}), to: event.data.chartVersion },
    values: { ...(current ? { from: current.values } : {}), to: event.data.values },
    warnings: event.data.warnings,
  };
};
