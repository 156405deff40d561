import { Decider, fold, NeedsFullHistory } from '@app/domain';
import type { AggregateOptions } from './aggregate';
import { approximateBytes, MIB } from './approximate-size';
import { LruMap } from './lru';
import { MongoEventStore } from './mongo-event-store';
import { Commit, GENESIS_HASH } from './store-records';

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

export const remember = (recent: LoadedStream<unknown>['recent'], commit: Pick<Commit, 'commandId' | 'version'>) => {
  recent.push([commit.commandId, commit.version]);
  if (recent.length > RECENT_COMMANDS) recent.splice(0, recent.length - RECENT_COMMANDS);
};

/**
 * Loaded streams kept in memory by the one process that handles a stream's commands (its Kafka partition
 * owner), so a command costs one insert instead of a reload. Never trusted blindly: an append on a stale
 * entry collides on the version, and the entry is then dropped and the stream reloaded.
 */
export class StreamCache<State> extends LruMap<LoadedStream<State>> {
  constructor(maxBytes = DEFAULT_STREAM_CACHE_BYTES) {
    super({ maxBytes, sizeOf: loadedStreamBytes });
  }
}

/** What the release service keeps unless told otherwise (STREAM_CACHE_MIB). */
export const DEFAULT_STREAM_CACHE_BYTES = 64 * MIB;

/**
 * A loaded stream's approximate size: its state (values included) sized once per object, since states are
 * never changed in place; `recent` is, so it is counted afresh (it is short).
 */
export const loadedStreamBytes = (stream: LoadedStream<unknown>, key: string): number => {
  let bytes = approximateBytes(key) + approximateBytes(stream.state, true) + approximateBytes(stream.hash) + 64;
  for (const entry of stream.recent) bytes += 8 + approximateBytes(entry, true);
  return bytes;
};

interface SnapshotState<State> {
  state: State;
  hash: string;
  recent?: LoadedStream<State>['recent'];
}

/**
 * Reads a stream: the latest snapshot of the current schema version, then the commits after it. The
 * first commit is read alongside the snapshot: a stream that has none (a new release) then costs one
 * round trip and two point reads, and a stream with a snapshot wastes one point read.
 */
export const loadStream = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  streamId: string,
  decider: Decider<State, never, Event>,
  snapshotSchemaVersion = 1,
): Promise<LoadedStream<State>> => {
  const [snapshot, first] = await Promise.all([store.latestSnapshot(streamId, snapshotSchemaVersion), store.readCommit(streamId, 1)]);
  const saved = snapshot?.state as SnapshotState<State> | undefined;
  const loaded: LoadedStream<State> = {
    state: saved ? saved.state : decider.initialState(),
    version: snapshot?.version ?? 0,
    hash: saved?.hash ?? GENESIS_HASH,
    recent: [...(saved?.recent ?? [])],
  };
  const tail = async (): Promise<Commit[]> => {
    if (snapshot) return store.readTail(streamId, loaded.version);
    return first ? [first, ...(await store.readTail(streamId, 1))] : [];
  };
  try {
    return foldCommits(await tail(), loaded, decider);
  } catch (error) {
    // A commit after a compacted snapshot touched an item the snapshot left out, which the aggregate's
    // rules say cannot happen: the log, folded from its first commit, is the truth.
    if (error instanceof NeedsFullHistory) return foldLog(store, streamId, decider);
    throw error;
  }
};

/**
 * Reads a stream with its whole history: as loadStream, then the archived chunks the snapshot left out
 * put back. Falls back to folding the whole log when a chunk is missing or does not fit.
 */
export const loadWholeStream = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  streamId: string,
  decider: Decider<State, never, Event>,
  options: Pick<AggregateOptions<State, never, never, unknown>, 'history' | 'snapshotSchemaVersion'>,
): Promise<LoadedStream<State>> => {
  const loaded = await loadStream(store, streamId, decider, options.snapshotSchemaVersion);
  const { history } = options;
  const archived = history ? history.archived(loaded.state) : 0;
  if (!history || archived === 0) return loaded;
  const chunks = await store.readArchive(streamId, options.snapshotSchemaVersion ?? 1, Math.ceil(archived / history.chunkSize));
  if (chunks) {
    try {
      return { ...loaded, state: history.restore(loaded.state, chunks.flat()) };
    } catch {
      // Chunks that do not fit the snapshot: fall through to the log.
    }
  }
  return foldLog(store, streamId, decider);
};

/** Folds commits (the ones after a loaded stream's version, in order) into it. */
const foldCommits = <State, Event extends { type: string; data: unknown }>(
  commits: Commit[],
  loaded: LoadedStream<State>,
  decider: Decider<State, never, Event>,
): LoadedStream<State> => {
  let { state, version, hash } = loaded;
  const recent = [...loaded.recent];
  for (const commit of commits) {
    state = fold(decider.evolve, state, commit.events as unknown as Event[]);
    version = commit.version;
    hash = commit.hash;
    remember(recent, commit);
  }
  return { state, version, hash, recent };
};

/** The whole log of a stream folded from its first commit, in one range read: the slow, certain path. */
const foldLog = async <State, Event extends { type: string; data: unknown }>(
  store: MongoEventStore,
  streamId: string,
  decider: Decider<State, never, Event>,
): Promise<LoadedStream<State>> =>
  foldCommits(await store.readStream(streamId), { state: decider.initialState(), version: 0, hash: GENESIS_HASH, recent: [] }, decider);

/**
 * Saves a stream's snapshot: with a history archive, the state compacted, after storing the chunks the
 * compaction cuts off. Returns the stream as the snapshot holds it (what a cache may keep).
 */
export const saveStreamSnapshot = async <State>(
  store: MongoEventStore,
  streamId: string,
  loaded: LoadedStream<State>,
  options: Pick<AggregateOptions<State, never, never, unknown>, 'history' | 'snapshotSchemaVersion'>,
): Promise<LoadedStream<State>> => {
  const { history } = options;
  const schemaVersion = options.snapshotSchemaVersion ?? 1;
  let { state } = loaded;
  if (history) {
    const kept = history.compact(state);
    const [before, after] = [history.archived(state), history.archived(kept)];
    if (after > before) {
      const items = history.items(state, before + 1, after);
      const chunks = [];
      for (let first = before; first < after; first += history.chunkSize) {
        chunks.push({ index: first / history.chunkSize, items: items.slice(first - before, first - before + history.chunkSize) });
      }
      // Stored before the snapshot that leaves them out: a snapshot never counts on a chunk not there.
      await store.saveArchiveChunks(streamId, schemaVersion, chunks);
    }
    state = kept;
  }
  const snapshot: SnapshotState<State> = { state, hash: loaded.hash, recent: loaded.recent };
  await store.saveSnapshot(streamId, loaded.version, schemaVersion, snapshot);
  return { ...loaded, state };
};

/** After a snapshot, the cache keeps the compacted stream, unless the stream has moved on meanwhile. */
export const keepSnapshotted = <State>(cache: StreamCache<State> | undefined, streamId: string, kept: LoadedStream<State>): void => {
  if (cache?.get(streamId)?.version === kept.version) cache.set(streamId, kept);
};
