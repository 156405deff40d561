import { CommandMetadata, Decider, DomainError, isDomainError, NeedsFullHistory } from '@app/domain';
import type { AggregateOptions, BatchItem, HandleResult, RejectedResult } from './aggregate';
import { advanced, answerOf, appendInput, decideOn, snapshotIfDue } from './decision-steps';
import { ConcurrencyError, ConcurrencyRetriesExhaustedError, DuplicateCommandError } from './errors';
import { loadStream, LoadedStream, loadWholeStream, StreamCache } from './load-stream';
import { MongoEventStore } from './mongo-event-store';
import { RecordedRejection } from './store-records';

const rejection = (error: DomainError): RejectedResult => ({
  code: error.code,
  message: error.message,
  ...(Object.keys(error.details).length ? { details: error.details } : {}),
});

/** What the quick pass already knows of a command it leaves, so deciding it carefully asks for it once only. */
export interface Known {
  /** The stream in the cache was read from the store by this very call, with nothing appended since. */
  fresh: boolean;
  /** The command's recorded refusal (null: none). */
  refused: RecordedRejection | null;
}

/**
 * The careful step of the write path (handleCommands), for one command the quick pass left:
 * 1. a command already decided (same id) gets its first answer again, changing nothing;
 * 2. read the stream (snapshot + tail) and fold it;
 * 3. decide: a DomainError is a rejection, recorded so a redelivery gets the same answer, and only ever
 *    on the stream as stored (never on a cached copy that may be stale);
 * 4. append the events as one commit at the expected version;
 * 5. on a version conflict, another writer won: go back to 2, a bounded number of times.
 */
export const decideCarefully = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  store: MongoEventStore,
  { streamId, command, metadata }: BatchItem<Command>,
  options: AggregateOptions<State, Command, Event, Result>,
  cache: StreamCache<State>,
  known?: Known,
): Promise<HandleResult<Result>> => {
  const decider = options.decider as unknown as Decider<State, never, Event>;
  // Whether `loaded` came from the cache (and may be stale) rather than from the store just now.
  let cached = false;
  // The first load may be the quick pass's own fresh read, in the cache: as good as the store's.
  let firstLoad = true;
  // Whether decisions need the whole history (a decision asked for it with NeedsFullHistory).
  let full = false;
  const load = async (fresh: boolean): Promise<LoadedStream<State>> => {
    const hit = fresh ? undefined : cache.get(streamId);
    cached = hit !== undefined && !(firstLoad && known?.fresh);
    firstLoad = false;
    const loaded =
      hit ??
      (full
        ? await loadWholeStream<State, Event>(store, streamId, decider, options)
        : await loadStream<State, Event>(store, streamId, decider, options.snapshotSchemaVersion));
    cache.set(streamId, loaded);
    return loaded;
  };

  // The recorded refusal, if any, is asked for while the stream loads: one round trip less per command.
  const [first, refused] = await Promise.all([load(false), known ? known.refused : store.findRejection(streamId, metadata.commandId)]);
  let loaded = first;
  const previous = await priorDecision<Result>(store, streamId, metadata, loaded, false, refused);
  if (previous) return previous;

  const maxAttempts = options.maxAttempts ?? 10;
  let reload = false;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (reload) loaded = await load(true);
    reload = false;
    const { state, version, hash } = loaded;
    let decided: { events: Event[]; after: State; result: Result };
    try {
      decided = decideOn(options, streamId, state, command, metadata);
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
    const { events, after, result } = decided;
    // A decision with no events (a late duplicate outcome, say) changes nothing and needs no commit.
    if (events.length === 0) return { outcome: 'ACCEPTED', result, commit: null, duplicate: false };
    try {
      const commit = await store.append(appendInput(streamId, command.type, metadata, events, result, { version, hash }));
      const next = advanced(loaded, after, commit);
      cache.set(streamId, next);
      await snapshotIfDue(store, cache, streamId, next, options);
      return { outcome: 'ACCEPTED', result, commit, duplicate: false };
    } catch (error) {
      if (error instanceof DuplicateCommandError) {
        cache.delete(streamId);
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
  cache.delete(streamId);
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
