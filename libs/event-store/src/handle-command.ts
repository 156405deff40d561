import { CommandMetadata, Decider, DomainError, fold, isDomainError, NeedsFullHistory } from '@app/domain';
import { LruMap } from './lru';
import { ConcurrencyError, ConcurrencyRetriesExhaustedError, DuplicateCommandError } from './errors';
import { MongoEventStore } from './mongo-event-store';
import { AppendInput, Commit, GENESIS_HASH, PreparedCommit, RecordedRejection, rejectionKey } from './store-records';

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
const keepSnapshotted = <State>(cache: StreamCache<State> | undefined, streamId: string, kept: LoadedStream<State>): void => {
  if (cache?.get(streamId)?.version === kept.version) cache.set(streamId, kept);
};

/** The commit of a decision made on a stream at `on` (its version and hash). */
const appendInput = (
  streamId: string,
  commandType: string,
  metadata: CommandMetadata,
  events: Array<{ type: string; data: unknown }>,
  result: unknown,
  on: { version: number; hash: string },
): AppendInput => ({
  streamId,
  expectedVersion: on.version,
  commandId: metadata.commandId,
  commandType,
  events,
  result,
  metadata: {
    actor: metadata.actor,
    correlationId: metadata.correlationId,
    ...(metadata.causationId ? { causationId: metadata.causationId } : {}),
    now: metadata.now,
    ...(metadata.fingerprint ? { fingerprint: metadata.fingerprint } : {}),
  },
  prevHash: on.hash,
});

/**
 * The answer to a command id already decided, unless it now comes with other content: a client that
 * reuses its idempotency key for another request is told so, and neither answer changes.
 */
const answerOf = <Result>(decided: HandleResult<Result>, stored: string | undefined, incoming: string | undefined): HandleResult<Result> =>
  stored && incoming && stored !== incoming
    ? { outcome: 'REJECTED', error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'This command id was already used for a command with other content; nothing was changed' }, duplicate: true }
    : decided;

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
  // Whether decisions need the whole history (a decision asked for it with NeedsFullHistory).
  let full = false;
  const load = async (fresh: boolean): Promise<LoadedStream<State>> => {
    const hit = fresh ? undefined : cache?.get(streamId);
    cached = hit !== undefined;
    const loaded =
      hit ??
      (full
        ? await loadWholeStream<State, Event>(store, streamId, decider, options)
        : await loadStream<State, Event>(store, streamId, decider, options.snapshotSchemaVersion));
    cache?.set(streamId, loaded);
    return loaded;
  };

  // The recorded refusal, if any, is asked for while the stream loads: one round trip less per command.
  const [first, refused] = await Promise.all([load(false), store.findRejection(streamId, metadata.commandId)]);
  let loaded = first;
  const previous = await priorDecision<Result>(store, streamId, metadata, loaded, false, refused);
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
      if (error instanceof NeedsFullHistory && !full) {
        full = true;
        reload = true;
        attempt -= 1;
        continue;
      }
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
      const committed = await priorDecision<Result>(store, streamId, metadata, loaded, loaded.recent.length < loaded.version);
      if (committed) return committed;
      const recorded = await store.recordRejection(metadata.commandId, streamId, command.type, rejection(error), metadata.fingerprint);
      return answerOf({ outcome: 'REJECTED', error: recorded.error as RejectedResult, duplicate: false }, recorded.fingerprint, metadata.fingerprint);
    }
    const after = fold(options.decider.evolve, state, events);
    const result = options.summarize(streamId, events, after);
    // A decision with no events (a late duplicate outcome, say) changes nothing and needs no commit.
    if (events.length === 0) return { outcome: 'ACCEPTED', result, commit: null, duplicate: false };
    try {
      const commit = await store.append(appendInput(streamId, command.type, metadata, events, result, { version, hash }));
      const recent = [...loaded.recent];
      remember(recent, commit);
      const next: LoadedStream<State> = { state: after, version: commit.version, hash: commit.hash, recent };
      cache?.set(streamId, next);
      const every = options.snapshotEvery ?? 0;
      if (every > 0 && commit.version % every === 0) keepSnapshotted(cache, streamId, await saveStreamSnapshot(store, streamId, next, options));
      return { outcome: 'ACCEPTED', result, commit, duplicate: false };
    } catch (error) {
      if (error instanceof DuplicateCommandError) {
        cache?.delete(streamId);
        const first = await priorDecision<Result>(store, streamId, metadata, await load(true), true);
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
  metadata: Pick<CommandMetadata, 'commandId' | 'fingerprint'>,
  loaded: LoadedStream<unknown>,
  search = false,
  /** The command's recorded refusal when the caller already asked for it (null: none); undefined: ask. */
  refused?: RecordedRejection | null,
): Promise<HandleResult<Result> | null> => {
  const { commandId } = metadata;
  const version = loaded.recent.find(([id]) => id === commandId)?.[1];
  const commit =
    version !== undefined ? await store.readCommit(streamId, version) : search ? await store.findByCommand(streamId, commandId) : null;
  if (commit) return answerOf({ outcome: 'ACCEPTED', result: commit.result as Result, commit, duplicate: true }, commit.metadata.fingerprint, metadata.fingerprint);
  const rejected = refused !== undefined ? refused : await store.findRejection(streamId, commandId);
  if (rejected) return answerOf({ outcome: 'REJECTED', error: rejected.error as RejectedResult, duplicate: true }, rejected.fingerprint, metadata.fingerprint);
  return null;
};

export interface BatchItem<Command> {
  streamId: string;
  command: Command;
  metadata: CommandMetadata;
}

/**
 * Decides a batch of commands (one Kafka fetch, several streams, in order per stream) with one rejection
 * query and one ordered insert of all the commits, instead of a handful of round trips per command.
 *
 * Only the plain case is decided here: a new command accepted on the stream as loaded (and a command
 * refused before, answered again). Everything else is left to `handleCommand`, which the caller runs
 * afterwards, in order, for each item answered `null`: a redelivery of a recent command, a refusal (it is
 * recorded only after a fresh read), a commit that collided in the insert. Once an item of a stream is
 * left, so are the stream's later items, so per stream the decisions keep the order of the commands.
 */
export const handleCommandBatch = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  items: Array<BatchItem<Command>>,
  options: AggregateOptions<State, Command, Event, Result>,
  cache: StreamCache<State>,
): Promise<Array<HandleResult<Result> | null>> => {
  const decider = options.decider as unknown as Decider<State, never, Event>;
  const answers: Array<HandleResult<Result> | null> = items.map(() => null);
  const streamIds = [...new Set(items.map((i) => i.streamId))];
  const [loadedList, rejected] = await Promise.all([
    Promise.all(streamIds.map(async (id) => cache.get(id) ?? (await loadStream<State, Event>(store, id, decider, options.snapshotSchemaVersion)))),
    store.findRejections(items.map((i) => ({ streamId: i.streamId, commandId: i.metadata.commandId }))),
  ]);
  loadedList.forEach((loaded, i) => cache.set(streamIds[i], loaded));
  // Each stream as the batch leaves it so far, decided on in memory, in order; stored only below.
  const current = new Map(streamIds.map((id, i) => [id, loadedList[i]]));
  const left = new Set<string>();
  const planned: Array<{ index: number; commit: PreparedCommit; after: LoadedStream<State> }> = [];

  items.forEach(({ streamId, command, metadata }, index) => {
    if (left.has(streamId)) return;
    const refused = rejected.get(rejectionKey(streamId, metadata.commandId));
    if (refused !== undefined) {
      answers[index] = answerOf({ outcome: 'REJECTED', error: refused.error as RejectedResult, duplicate: true }, refused.fingerprint, metadata.fingerprint);
      return;
    }
    const loaded = current.get(streamId)!;
    if (loaded.recent.some(([id]) => id === metadata.commandId)) {
      left.add(streamId);
      return;
    }
    let events: Event[];
    try {
      events = options.decider.decide(command, loaded.state, metadata);
    } catch (error) {
      // A refusal, or a decision that needs the whole history: handleCommand decides it.
      if (!isDomainError(error) && !(error instanceof NeedsFullHistory)) throw error;
      left.add(streamId);
      return;
    }
    const state = fold(options.decider.evolve, loaded.state, events);
    const result = options.summarize(streamId, events, state);
    if (events.length === 0) {
      answers[index] = { outcome: 'ACCEPTED', result, commit: null, duplicate: false };
      return;
    }
    const commit = store.prepare(appendInput(streamId, command.type, metadata, events, result, loaded));
    const recent = [...loaded.recent];
    remember(recent, { commandId: metadata.commandId, version: commit.doc.version });
    const after: LoadedStream<State> = { state, version: commit.doc.version, hash: commit.doc.hash, recent };
    planned.push({ index, commit, after });
    current.set(streamId, after);
  });
  if (planned.length === 0) return answers;

  const { commits, collided } = await store.appendMany(planned.map((p) => p.commit));
  const every = options.snapshotEvery ?? 0;
  const snapshots: Array<Promise<void>> = [];
  commits.forEach((commit, i) => {
    const { index, after } = planned[i];
    cache.set(commit.streamId, after);
    answers[index] = { outcome: 'ACCEPTED', result: commit.result as Result, commit, duplicate: false };
    if (every > 0 && commit.version % every === 0) {
      snapshots.push(saveStreamSnapshot(store, commit.streamId, after, options).then((kept) => keepSnapshotted(cache, commit.streamId, kept)));
    }
  });
  if (collided !== null) {
    // Nothing from the collision on was stored. The stream that collided was stale in memory: forget it.
    // The other streams stay as their last stored commit left them; their later items, decided on what
    // was not stored, are decided again by handleCommand.
    const from = planned[collided].index;
    cache.delete(planned[collided].commit.doc.streamId);
    const unstored = new Set(planned.slice(collided).map((p) => p.commit.doc.streamId));
    items.forEach((item, index) => {
      if (index >= from && unstored.has(item.streamId)) answers[index] = null;
    });
  }
  await Promise.all(snapshots);
  return answers;
};
