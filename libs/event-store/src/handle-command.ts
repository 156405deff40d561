import { CommandMetadata, Decider, DomainError, fold, isDomainError } from '@app/domain';
import { ConcurrencyError, ConcurrencyRetriesExhaustedError, DuplicateCommandError } from './errors';
import { Commit, GENESIS_HASH, MongoEventStore } from './mongo-event-store';

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
  maxAttempts?: number;
}

export interface LoadedStream<State> {
  state: State;
  version: number;
  hash: string;
}

/** Reads a stream: the latest snapshot of the current schema version, then the commits after it. */
export const loadStream = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  streamId: string,
  decider: Decider<State, never, Event>,
  snapshotSchemaVersion = 1,
): Promise<LoadedStream<State>> => {
  const snapshot = await store.latestSnapshot(streamId, snapshotSchemaVersion);
  const snapshotState = snapshot?.state as { state: State; hash: string } | undefined;
  let state = snapshotState ? snapshotState.state : decider.initialState();
  let version = snapshot?.version ?? 0;
  let hash = snapshotState?.hash ?? GENESIS_HASH;
  for (const commit of await store.readStream(streamId, version)) {
    state = fold(decider.evolve, state, commit.events as unknown as Event[]);
    version = commit.version;
    hash = commit.hash;
  }
  return { state, version, hash };
};

const rejection = (error: DomainError): RejectedResult => ({
  code: error.code,
  message: error.message,
  ...(Object.keys(error.details).length ? { details: error.details } : {}),
});

/**
 * The one command handler, for any aggregate:
 * 1. a command already decided (same id) gets its first answer again, changing nothing;
 * 2. read the stream (snapshot + tail) and fold it;
 * 3. decide: a DomainError is a rejection, recorded so a redelivery gets the same answer;
 * 4. append the events as one commit at the expected version;
 * 5. on a version conflict, another writer won: go back to 2, a bounded number of times.
 */
export const handleCommand = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  streamId: string,
  command: Command,
  metadata: CommandMetadata,
  options: AggregateOptions<State, Command, Event, Result>,
): Promise<HandleResult<Result>> => {
  const previous = await priorDecision<Result>(store, streamId, metadata.commandId);
  if (previous) return previous;

  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const { state, version, hash } = await loadStream<State, Event>(
      store,
      streamId,
      options.decider as unknown as Decider<State, never, Event>,
      options.snapshotSchemaVersion,
    );
    let events: Event[];
    try {
      events = options.decider.decide(command, state, metadata);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      // The same command, delivered twice at once, may have been committed by the other delivery after
      // our first look and before our read: then the state refuses it, but its answer is the commit.
      const committed = await priorDecision<Result>(store, streamId, metadata.commandId);
      if (committed) return committed;
      const recorded = (await store.recordRejection(metadata.commandId, streamId, command.type, rejection(error))) as RejectedResult;
      return { outcome: 'REJECTED', error: recorded, duplicate: false };
    }
    const after = fold(options.decider.evolve, state, events);
    const result = options.summarize(streamId, events, after);
    // A decision with no events (a late duplicate outcome, say) changes nothing and needs no commit.
    if (events.length === 0) return { outcome: 'ACCEPTED', result, commit: null, duplicate: false };
    try {
      const commit = await store.append({
        streamId,
        expectedVersion: version,
        commandId: metadata.commandId,
        commandType: command.type,
        events,
        result,
        metadata: {
          actor: metadata.actor,
          correlationId: metadata.correlationId,
          ...(metadata.causationId ? { causationId: metadata.causationId } : {}),
          now: metadata.now,
        },
        prevHash: hash,
      });
      const every = options.snapshotEvery ?? 0;
      if (every > 0 && commit.version % every === 0) {
        await store.saveSnapshot(streamId, commit.version, options.snapshotSchemaVersion ?? 1, {
          state: after,
          hash: commit.hash,
        });
      }
      return { outcome: 'ACCEPTED', result, commit, duplicate: false };
    } catch (error) {
      if (error instanceof DuplicateCommandError) {
        const first = await priorDecision<Result>(store, streamId, metadata.commandId);
        if (first) return first;
      }
      if (error instanceof ConcurrencyError) {
        // Spread retries a little so twenty racing writers do not collide in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * attempt)));
        continue;
      }
      throw error;
    }
  }
  throw new ConcurrencyRetriesExhaustedError(streamId, maxAttempts);
};

const priorDecision = async <Result>(
  store: MongoEventStore,
  streamId: string,
  commandId: string,
): Promise<HandleResult<Result> | null> => {
  const commit = await store.findByCommand(streamId, commandId);
  if (commit) return { outcome: 'ACCEPTED', result: commit.result as Result, commit, duplicate: true };
  const rejected = await store.findRejection(commandId);
  if (rejected) return { outcome: 'REJECTED', error: rejected as RejectedResult, duplicate: true };
  return null;
};
