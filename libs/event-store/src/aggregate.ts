import type { CommandMetadata, Decider } from '@app/domain';
import type { Commit } from './store-records';

/** What the generic command handler needs to know of an aggregate, and what it answers. */

/** A command for a stream, as the write path takes it. */
export interface BatchItem<Command> {
  streamId: string;
  command: Command;
  metadata: CommandMetadata;
}

export interface RejectedResult {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type HandleResult<Result> =
  | { outcome: 'ACCEPTED'; result: Result; commit: Commit | null; duplicate: boolean }
  | { outcome: 'REJECTED'; error: RejectedResult; duplicate: boolean };

export interface AggregateOptions<State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result> {
  decider: Decider<State, Command, Event>;
  /** What the caller is told of an accepted decision; stored with the commit for redeliveries. */
  summarize: (streamId: string, events: Event[], state: State) => Result;
  /** Snapshot every N commits (0: never). Snapshots are a cache; the log stays the truth. */
  snapshotEvery?: number;
  /** Bump when the state's shape changes: older snapshots are then ignored, not misread. */
  snapshotSchemaVersion?: number;
  /** How a long history is kept out of snapshots and memory; none: the whole state is kept. */
  history?: HistoryArchive<State>;
  maxAttempts?: number;
}

/**
 * How an aggregate keeps a long history out of its snapshots and its in-memory state, so a load costs the
 * same at any history length. When a snapshot is saved, `compact` cuts the oldest items off in whole
 * chunks; those chunks are stored first (they never change afterwards), then the snapshot that leaves
 * them out. A decision that needs them throws NeedsFullHistory and is made again on the state with its
 * archived items put back (loadWholeStream). Changing chunkSize needs a new snapshotSchemaVersion.
 */
export interface HistoryArchive<State> {
  chunkSize: number;
  compact: (state: State) => State;
  /** How many of the oldest items `state` leaves out (a multiple of chunkSize). */
  archived: (state: State) => number;
  /** The items numbered from..to (1-based, inclusive) that `state` holds, in order. */
  items: (state: State, from: number, to: number) => unknown[];
  /** `state` with the items it leaves out (1..archived(state), in order) put back; throws if they do not fit. */
  restore: (state: State, items: unknown[]) => State;
}
