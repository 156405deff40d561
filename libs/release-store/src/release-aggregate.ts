import {
  compactRelease,
  RELEASE_EVENT_TYPES,
  RELEASE_HISTORY_CHUNK,
  restoreRelease,
  Revision,
  releaseDecider,
  ReleaseCommand,
  ReleaseEvent,
  ReleaseState,
  summarizeDecision,
  DecisionSummary,
  LEGACY_CLUSTER,
} from '@app/domain';
import { AggregateOptions, EventSchemas } from '@app/event-store';

/** The operation events that name the release's cluster since releases have one (schema version 2). */
const CLUSTERED = ['InstallRequested', 'UpgradeRequested', 'RollbackRequested', 'UninstallRequested'] as const;
/** Version 1 of those events was written when the service drove one cluster: theirs is the legacy cluster. */
const inLegacyCluster = (data: unknown): unknown => ({ cluster: LEGACY_CLUSTER, ...(data as object) });

/** Schema version of every release event type written today. Bump a type's number and add a step to evolve it. */
export const RELEASE_EVENT_SCHEMAS: EventSchemas = {
  current: Object.fromEntries(RELEASE_EVENT_TYPES.map((t) => [t, (CLUSTERED as readonly string[]).includes(t) ? 2 : 1])),
  steps: Object.fromEntries(CLUSTERED.map((t) => [t, { 1: inLegacyCluster }])),
};

/**
 * How the release aggregate is handled: its decider, its answer, snapshots every 100 commits, and a state
 * that holds the newest revisions; older ones are archived in chunks of RELEASE_HISTORY_CHUNK, read back
 * only for a decision that needs them (a rollback to an old revision, say).
 */
export const RELEASE_AGGREGATE: AggregateOptions<ReleaseState, ReleaseCommand, ReleaseEvent, DecisionSummary> = {
  decider: releaseDecider,
  summarize: summarizeDecision,
  snapshotEvery: 100,
  // 2: states and archived revisions with the release's cluster.
  snapshotSchemaVersion: 2,
  history: {
    chunkSize: RELEASE_HISTORY_CHUNK,
    compact: (state) => compactRelease(state),
    archived: (state) => (state.status === 'NONE' ? 0 : (state.archivedRevisions ?? 0)),
    items: (state, from, to) => (state.status === 'NONE' ? [] : state.revisions.filter((r) => r.revision >= from && r.revision <= to)),
    restore: (state, items) => restoreRelease(state, items as Revision[]),
  },
};
