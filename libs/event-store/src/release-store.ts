import {
  RELEASE_EVENT_TYPES,
  releaseDecider,
  ReleaseCommand,
  ReleaseEvent,
  ReleaseState,
  summarizeDecision,
  DecisionSummary,
} from '@app/domain';
import { AggregateOptions } from './handle-command';
import { EventSchemas } from './upcasting';

/** Schema version of every release event type written today. Bump a type's number and add a step to evolve it. */
export const RELEASE_EVENT_SCHEMAS: EventSchemas = {
  current: Object.fromEntries(RELEASE_EVENT_TYPES.map((t) => [t, 1])),
  steps: {},
};

/** How the release aggregate is handled: its decider, its answer, and snapshots every 100 commits. */
export const RELEASE_AGGREGATE: AggregateOptions<ReleaseState, ReleaseCommand, ReleaseEvent, DecisionSummary> = {
  decider: releaseDecider,
  summarize: summarizeDecision,
  snapshotEvery: 100,
  snapshotSchemaVersion: 1,
};
