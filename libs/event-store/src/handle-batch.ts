import { CommandMetadata, Decider, isDomainError, NeedsFullHistory } from '@app/domain';
import type { AggregateOptions, HandleResult, RejectedResult } from './aggregate';
import { advanced, decideOn, snapshotIfDue } from './decision-steps';
import { answerOf, appendInput } from './handle-command';
import { loadStream, LoadedStream, StreamCache } from './load-stream';
import { MongoEventStore } from './mongo-event-store';
import { PreparedCommit, rejectionKey } from './store-records';

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
    let decided: { events: Event[]; after: State; result: Result };
    try {
      decided = decideOn(options, streamId, loaded.state, command, metadata);
    } catch (error) {
      // A refusal, or a decision that needs the whole history: handleCommand decides it.
      if (!isDomainError(error) && !(error instanceof NeedsFullHistory)) throw error;
      left.add(streamId);
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
  });
  if (planned.length === 0) return answers;

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
      if (index >= from && unstored.has(item.streamId)) answers[index] = null;
    });
  }
  await Promise.all(snapshots);
  return answers;
};
