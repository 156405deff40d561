import { releaseEventMessage, ValuesCipher } from '@app/contracts';
import { evolve, initialState, ReleaseEvent, ReleaseState } from '@app/domain';
import { Commit, MongoEventStore } from '@app/event-store';

/** A release as it was at a moment (its commits recorded up to `time`) or at a stream version. */
export const releaseAsOf = async (
  store: MongoEventStore,
  streamId: string,
  at: { time?: string; version?: number },
): Promise<{ version: number; state: ReleaseState }> => {
  let state = initialState();
  let version = 0;
  for (const commit of await store.readStream(streamId)) {
    if (at.version !== undefined && commit.version > at.version) break;
    if (at.time !== undefined && commit.metadata.now > at.time) break;
    for (const event of commit.events) state = evolve(state, event as unknown as ReleaseEvent);
    version = commit.version;
  }
  return { version, state };
};

/** The Kafka messages of a commit's events, exactly as the release service publishes them. */
export const commitMessages = (commit: Commit, source: string, cipher?: ValuesCipher) =>
  commit.events.map((event) => ({
    key: commit.streamId,
    event: releaseEventMessage(event as never, {
      eventId: event.eventId,
      releaseId: commit.streamId,
      streamVersion: commit.version,
      time: commit.metadata.now,
      source,
      correlationId: commit.metadata.correlationId,
      causationId: commit.commandId,
      actor: commit.metadata.actor,
    }, cipher),
  }));
