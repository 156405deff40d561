import { Topics, ValuesCipher } from '@app/contracts';
import { Commit } from '@app/event-store';
import { commitMessages } from '@app/release-store';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, OutgoingEvent, sendEventsToTopics, VALUES_CIPHER } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { SOURCE } from './release-service.constants';

/**
 * The one publisher of commits: their events on `helm.release.events`, keyed by release, with
 * deterministic ids. The outbox calls it, for one commit at a time or for a fetch's commits together with
 * the decisions that go out in the same send.
 */
@Injectable()
export class EventPublisher {
  constructor(
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {}

  /** Publishes the events of one commit, in order. */
  publishCommit(commit: Commit): Promise<void> {
    return this.publishCommits([commit]);
  }

  /** Publishes the events of several commits (in order per release) and `alongside` in one acknowledged send. */
  async publishCommits(commits: Commit[], alongside: Array<{ topic: string; events: OutgoingEvent[] }> = []): Promise<void> {
    const events = commits.flatMap((c) => commitMessages(c, SOURCE, this.cipher ?? undefined));
    await sendEventsToTopics(this.producer, this.config, [{ topic: Topics.events, events }, ...alongside]);
  }
}
