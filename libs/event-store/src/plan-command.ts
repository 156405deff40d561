import { Decider, NeedsFullHistory } from '@app/domain';
import { AggregateOptions } from './aggregate';
import { loadStream, loadWholeStream } from './load-stream';
import { MongoEventStore } from './mongo-event-store';

/**
 * Decides without appending: `plan` runs on the stream as the command handler would load it (its recent
 * history), and once more on the whole history if it asks for that (NeedsFullHistory). For dry runs, which
 * must answer what the real decision would, from the event store rather than a read model that may lag.
 */
export const planOnStream = async <State, Command extends { type: string }, Event extends { type: string; data: unknown }, Result, Plan>(
  store: MongoEventStore,
  streamId: string,
  options: AggregateOptions<State, Command, Event, Result>,
  plan: (state: State) => Plan,
): Promise<Plan> => {
  const decider = options.decider as unknown as Decider<State, never, Event>;
  const recent = await loadStream<State, Event>(store, streamId, decider, options.snapshotSchemaVersion);
  try {
    return plan(recent.state);
  } catch (error) {
    if (!(error instanceof NeedsFullHistory)) throw error;
  }
  return plan((await loadWholeStream<State, Event>(store, streamId, decider, options)).state);
};
