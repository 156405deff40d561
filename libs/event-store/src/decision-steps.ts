import { CommandMetadata, fold } from '@app/domain';
import type { AggregateOptions, HandleResult } from './aggregate';
import { keepSnapshotted, LoadedStream, remember, saveStreamSnapshot, StreamCache } from './load-stream';
import { MongoEventStore } from './mongo-event-store';
import { AppendInput } from './store-records';

/**
 * The steps of a decision that both parts of the write path share (the quick pass in handle-commands.ts
 * and the careful step in decide-carefully.ts), so each rule is written once: decide on the loaded stream (the domain throws a DomainError to refuse, NeedsFullHistory to ask
 * for more), what the stream is after a commit, and the snapshot a commit may be due.
 */
export const decideOn = <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result>(
  options: AggregateOptions<State, Command, Event, Result>,
  streamId: string,
  state: State,
  command: Command,
  metadata: CommandMetadata,
): { events: Event[]; after: State; result: Result } => {
  const events = options.decider.decide(command, state, metadata);
  const after = fold(options.decider.evolve, state, events);
  return { events, after, result: options.summarize(streamId, events, after) };
};

/** The stream after a commit of `commandId` at `version`: the decided state, the commit remembered. */
export const advanced = <State>(loaded: LoadedStream<State>, after: State, commit: { commandId: string; version: number; hash: string }): LoadedStream<State> => {
  const recent = [...loaded.recent];
  remember(recent, commit);
  return { state: after, version: commit.version, hash: commit.hash, recent };
};

/** Saves a snapshot when the commit's version is due one (every `snapshotEvery`), and keeps it in the cache. */
export const snapshotIfDue = async <State>(
  store: MongoEventStore,
  cache: StreamCache<State> | undefined,
  streamId: string,
  next: LoadedStream<State>,
  options: Pick<AggregateOptions<State, never, never, unknown>, 'snapshotEvery' | 'snapshotSchemaVersion' | 'history'>,
): Promise<void> => {
  const every = options.snapshotEvery ?? 0;
  if (every > 0 && next.version % every === 0) keepSnapshotted(cache, streamId, await saveStreamSnapshot(store, streamId, next, options));
};

/** The commit of a decision made on a stream at `on` (its version and hash). */
export const appendInput = (
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
export const answerOf = <Result>(decided: HandleResult<Result>, stored: string | undefined, incoming: string | undefined): HandleResult<Result> =>
  stored && incoming && stored !== incoming
    ? { outcome: 'REJECTED', error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'This command id was already used for a command with other content; nothing was changed' }, duplicate: true }
    : decided;
