import { CommandMetadata, Decider, DomainError, fold, isDomainError } from '@app/domain';
import { LruMap } from './lru';
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
  /**
   * The stream's most recent command ids and the versions they were committed at, newest last: a
   * redelivered command is answered from here without a query (see RECENT_COMMANDS).
   */
  recent: Array<[commandId: string, version: number]>;
}

/**
 * How many recent command ids a loaded stream remembers. Redeliveries come soon after the original, so a
 * window answers nearly all of them in memory; an older duplicate is still refused by the unique
 * (streamId, commandId) index when it is appended, and then looked up.
 */
export const RECENT_COMMANDS = 256;

const remember = (recent: LoadedStream<unknown>['recent'], commit: Pick<Commit, 'commandId' | 'version'>) => {
  recent.push([commit.commandId, commit.version]);
  if (recent.length > RECENT_COMMANDS) recent.splice(0, recent.length - RECENT_COMMANDS);
};

/**
 * Loaded streams kept in memory by the one process that handles a stream's commands (its Kafka partition
 * owner), so a command costs one insert instead of a reload. Never trusted blindly: an append on a stale
 * entry collides on the version, and the entry is then dropped and the stream reloaded.
 */
export class StreamCache<State> extends LruMap<LoadedStream<State>> {}

interface SnapshotState<State> {
  state: State;
  hash: string;
  recent?: LoadedStream<State>['recent'];
}

/** Reads a stream: the latest snapshot of the current schema version, then the commits after it. */
export const loadStream = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  streamId: string,
  decider: Decider<State, never, Event>,
  snapshotSchemaVersion = 1,
): Promise<LoadedStream<State>> => {
  const snapshot = await store.latestSnapshot(streamId, snapshotSchemaVersion);
  const saved = snapshot?.state as SnapshotState<State> | undefined;
  const loaded: LoadedStream<State> = {
    state: saved ? saved.state : decider.initialState(),
    version: snapshot?.version ?? 0,
    hash: saved?.hash ?? GENESIS_HASH,
    recent: [...(saved?.recent ?? [])],
  };
  return catchUpStream(store, loaded, streamId, decider);
};

/** Folds the commits after a loaded stream's version into it. */
const catchUpStream = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  loaded: LoadedStream<State>,
  streamId: string,
  decider: Decider<State, never, Event>,
): Promise<LoadedStream<State>> => {
  let { state, version, hash } = loaded;
  const recent = [...loaded.recent];
  for (const commit of await store.readTail(streamId, version)) {
    state = fold(decider.evolve, state, commit.events as unknown as Event[]);
    version = commit.version;
    hash = commit.hash;
    remember(recent, commit);
  }
  return { state, version, hash, recent };
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
  cache?: StreamCache<State>,
): Promise<HandleResult<Result>> => {
  const decider = options.decider as unknown as Decider<State, never, Event>;
  // Whether `loaded` came from the cache (and may be stale) rather than from the store just now.
  let cached = false;
  const load = async (fresh: boolean): Promise<LoadedStream<State>> => {
    const hit = fresh ? undefined : cache?.get(streamId);
    cached = hit !== undefined;
    const loaded = hit ?? (await loadStream<State, Event>(store, streamId, decider, options.snapshotSchemaVersion));
    cache?.set(streamId, loaded);
    return loaded;
  };

  let loaded = await load(false);
  const previous = await priorDecision<Result>(store, streamId, metadata.commandId, loaded);
  if (previous) return previous;

  const maxAttempts = options.maxAttempts ?? 10;
  let reload = false;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (reload) loaded = await load(true);
    reload = false;
    const { state, version, hash } = loaded;
    let events: Event[];
    try {
      events = options.decider.decide(command, state, metadata);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      if (cached) {
        // A refusal is recorded for good, so it is never decided on a copy that may be stale (another
        // instance may have moved the stream on): decide again on the stream as stored.
        reload = true;
        attempt -= 1;
        continue;
      }
      // The same command, delivered twice at once, may have been committed by the other delivery after
      // our first look and before our read: then the state refuses it, but its answer is the commit.
      // And a command older than the remembered window may be redelivered into a state that now refuses
      // it: unless the window covers the whole stream, ask the store before recording a rejection.
      const committed = await priorDecision<Result>(store, streamId, metadata.commandId, loaded, loaded.recent.length < loaded.version);
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
      const recent = [...loaded.recent];
      remember(recent, commit);
      const next: LoadedStream<State> = { state: after, version: commit.version, hash: commit.hash, recent };
      cache?.set(streamId, next);
      const every = options.snapshotEvery ?? 0;
      if (every > 0 && commit.version % every === 0) {
        const snapshot: SnapshotState<State> = { state: after, hash: commit.hash, recent };
        await store.saveSnapshot(streamId, commit.version, options.snapshotSchemaVersion ?? 1, snapshot);
      }
      return { outcome: 'ACCEPTED', result, commit, duplicate: false };
    } catch (error) {
      if (error instanceof DuplicateCommandError) {
        cache?.delete(streamId);
        const first = await priorDecision<Result>(store, streamId, metadata.commandId, await load(true), true);
        if (first) return first;
      }
      if (error instanceof ConcurrencyError) {
        reload = true;
        // Spread retries a little so twenty racing writers do not collide in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * attempt)));
        continue;
      }
      throw error;
    }
  }
  cache?.delete(streamId);
  throw new ConcurrencyRetriesExhaustedError(streamId, maxAttempts);
};

/**
 * The first answer to a command already decided: its commit (found among the stream's recent commands,
 * or, when `search` says the store knows it is there, by a query) or its recorded rejection.
 */
const priorDecision = async <Result>(
  store: MongoEventStore,
  streamId: string,
  commandId: string,
  loaded: LoadedStream<unknown>,
  search = false,
): Promise<HandleResult<Result> | null> => {
  const version = loaded.recent.find(([id]) => id === commandId)?.[1];
  const commit =
    version !== undefined ? await store.readCommit(streamId, version) : search ? await store.findByCommand(streamId, commandId) : null;
  if (commit) return { outcome: 'ACCEPTED', result: commit.result as Result, commit, duplicate: true };
  const rejected = await store.findRejection(commandId);
  if (rejected) return { outcome: 'REJECTED', error: rejected as RejectedResult, duplicate: true };
  return null;
};
