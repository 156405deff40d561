import { CommandMetadata, Decider, isDomainError, NeedsFullHistory } from '@app/domain';
import type { AggregateOptions, BatchItem, HandleResult, RejectedResult } from './aggregate';
import { decideCarefully, Known } from './decide-carefully';
import { advanced, answerOf, appendInput, decideOn, snapshotIfDue } from './decision-steps';
import { MIB } from './approximate-size';
import { loadedStreamBytes, loadStream, LoadedStream, StreamCache } from './load-stream';
import { MongoEventStore } from './mongo-event-store';
import { PreparedCommit, rejectionKey } from './store-records';

/**
 * The write path, the one way commands become commits, for one command or a whole Kafka fetch (several
 * streams, in order per stream):
 * 1. load each stream once (the cache, or snapshot + tail) and every command's recorded refusal (one query);
 * 2. decide in memory, in order per stream, each decision on the state the one before left;
 * 3. append all the commits in one ordered insert, snapshot where one is due;
 * 4. decide carefully (decideCarefully), one at a time and in order, what steps 2-3 leave: a redelivery
 *    of a recent command, a refusal (recorded only after a fresh read), a decision that needs the whole
 *    history, a commit that collided in the insert. Once an item of a stream is left, so are the stream's
 *    later items, so per stream the decisions keep the order of the commands.
 * Every item gets its answer, in the order given. What to project and publish is the caller's, from the
 * commits the answers carry. Steps 1-4 run on as many items at a time as the streams they name allow
 * (`loadedBytes`): the first items, up to the first whose stream would not fit, then the next ones.
 */
export const handleCommands = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  items: Array<BatchItem<Command>>,
  options: AggregateOptions<State, Command, Event, Result>,
  cache: StreamCache<State> = new StreamCache<State>(),
  loadedBytes = STREAM_BYTES_AT_ONCE,
): Promise<Array<HandleResult<Result>>> => {
  const answers: Array<HandleResult<Result>> = [];
  while (answers.length < items.length) {
    const rest = answers.length === 0 ? items : items.slice(answers.length);
    const { answers: decided, known, taken } = await decideTogether(store, rest, options, cache, loadedBytes);
    for (let index = 0; index < taken; index += 1) {
      answers.push(decided[index] ?? (await decideCarefully(store, rest[index], options, cache, known.get(index))));
    }
  }
  return answers;
};

/** One command through the write path. */
export const handleCommand = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  streamId: string,
  command: Command,
  metadata: CommandMetadata,
  options: AggregateOptions<State, Command, Event, Result>,
  cache?: StreamCache<State>,
): Promise<HandleResult<Result>> => (await handleCommands(store, [{ streamId, command, metadata }], options, cache))[0];

/** How many streams a batch loads from the store at once: enough to hide round trips, few enough to bound the memory of loads in flight. */
const STREAMS_LOADED_AT_ONCE = 16;

/**
 * How many bytes of streams (values included) one pass of the write path holds at most, beyond one group
 * of loads. A chunk of 200 small outcomes can name 200 streams whose values are large: held all at once,
 * by each partition consumed at the same time, they outgrew the stream cache's budget several times over.
 */
export const STREAM_BYTES_AT_ONCE = 8 * MIB;

/**
 * Steps 1-3 of the write path: decides the plain cases (a new command accepted on the stream as loaded,
 * a command refused before answered again) and leaves the rest null. For the first item it leaves of a
 * stream, it says what it learnt, so the careful step does not ask again. It takes the first `taken`
 * items: streams are loaded in order of first mention until they hold `loadedBytes`, and the items stop
 * before the first whose stream was not loaded (so each stream's items keep their order across passes).
 */
export const decideTogether = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  given: Array<BatchItem<Command>>,
  options: AggregateOptions<State, Command, Event, Result>,
  cache: StreamCache<State>,
  loadedBytes = STREAM_BYTES_AT_ONCE,
): Promise<{ answers: Array<HandleResult<Result> | null>; known: Map<number, Known>; taken: number }> => {
  const decider = options.decider as unknown as Decider<State, never, Event>;
  const named = [...new Set(given.map((i) => i.streamId))];
  // Streams read from the store just now, with nothing decided on them yet.
  const fresh = new Set<string>();
  const loadSome = async (): Promise<Array<LoadedStream<State>>> => {
    const loaded: Array<LoadedStream<State>> = [];
    let bytes = 0;
    // A few at a time: every load in flight holds its commits twice (as read and as folded) until it is done.
    for (let i = 0; i < named.length && (i === 0 || bytes < loadedBytes); i += STREAMS_LOADED_AT_ONCE) {
      const group = await Promise.all(
        named.slice(i, i + STREAMS_LOADED_AT_ONCE).map(async (id) => {
          const hit = cache.get(id);
          if (hit) return hit;
          fresh.add(id);
          return loadStream<State, Event>(store, id, decider, options.snapshotSchemaVersion);
        }),
      );
      group.forEach((stream, j) => (bytes += loadedStreamBytes(stream, named[i + j])));
      loaded.push(...group);
    }
    return loaded;
  };
  const [loadedList, rejected] = await Promise.all([
    loadSome(),
    store.findRejections(given.map((i) => ({ streamId: i.streamId, commandId: i.metadata.commandId }))),
  ]);
  const streamIds = named.slice(0, loadedList.length);
  const unloaded = new Set(named.slice(loadedList.length));
  const cut = given.findIndex((i) => unloaded.has(i.streamId));
  const items = cut === -1 ? given : given.slice(0, cut);
  const answers: Array<HandleResult<Result> | null> = items.map(() => null);
  const known = new Map<number, Known>();
  loadedList.forEach((loaded, i) => cache.set(streamIds[i], loaded));
  // Each stream as the batch leaves it so far, decided on in memory, in order; stored only below.
  const current = new Map(streamIds.map((id, i) => [id, loadedList[i]]));
  const left = new Set<string>();
  const planned: Array<{ index: number; commit: PreparedCommit; after: LoadedStream<State> }> = [];

  const leave = (streamId: string, index: number): void => {
    left.add(streamId);
    known.set(index, { fresh: fresh.has(streamId), refused: null });
  };
  items.forEach(({ streamId, command, metadata }, index) => {
    if (left.has(streamId)) return;
    const refused = rejected.get(rejectionKey(streamId, metadata.commandId));
    if (refused !== undefined) {
      answers[index] = answerOf({ outcome: 'REJECTED', error: refused.error as RejectedResult, duplicate: true }, refused.fingerprint, metadata.fingerprint);
      return;
    }
    const loaded = current.get(streamId)!;
    if (loaded.recent.some(([id]) => id === metadata.commandId)) {
      leave(streamId, index);
      return;
    }
    let decided: { events: Event[]; after: State; result: Result };
    try {
      decided = decideOn(options, streamId, loaded.state, command, metadata);
    } catch (error) {
      // A refusal, or a decision that needs the whole history: handleCommand decides it.
      if (!isDomainError(error) && !(error instanceof NeedsFullHistory)) throw error;
      leave(streamId, index);
      return;
    }
    const { events, after: state, result } = decided;
    if (events.length === 0) {
      answers[index] = { outcome: 'ACCEPTED', result, commit: null, duplicate: false };
      return;
    }
    const commit = store.prepare(appendInput(streamId, command.type, metadata, events, result, loaded));
    const after = advanced(loaded, state, { commandId: metadata.commandId, version: commit.doc.version, hash: commit.doc.hash });
    planned.push({ index, commit, after });
    current.set(streamId, after);
    fresh.delete(streamId);
  });
  if (planned.length === 0) return { answers, known, taken: items.length };

  const { commits, collided } = await store.appendMany(planned.map((p) => p.commit));
  const snapshots: Array<Promise<void>> = [];
  commits.forEach((commit, i) => {
    const { index, after } = planned[i];
    cache.set(commit.streamId, after);
    answers[index] = { outcome: 'ACCEPTED', result: commit.result as Result, commit, duplicate: false };
    snapshots.push(snapshotIfDue(store, cache, commit.streamId, after, options));
  });
  if (collided !== null) {
    // Nothing from the collision on was stored. The stream that collided was stale in memory: forget it.
    // The other streams stay as their last stored commit left them; their later items, decided on what
    // was not stored, are decided again by handleCommand.
    const from = planned[collided].index;
    cache.delete(planned[collided].commit.doc.streamId);
    const unstored = new Set(planned.slice(collided).map((p) => p.commit.doc.streamId));
    items.forEach((item, index) => {
      if (index >= from && unstored.has(item.streamId)) {
        answers[index] = null;
        known.delete(index);
      }
    });
  }
  await Promise.all(snapshots);
  return { answers, known, taken: items.length };
};
