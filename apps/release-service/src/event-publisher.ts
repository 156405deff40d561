import { Topics, ValuesCipher } from '@app/contracts';
import { Commit } from '@app/event-store';
import { commitMessages } from '@app/release-store';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, sendEvents, VALUES_CIPHER } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { SOURCE } from './release-service.constants';

/** Puts the events of a commit on `helm.release.events`, keyed by release, with deterministic ids. */
@Injectable()
export class EventPublisher {
  constructor(
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {}

  /** Publishes the events of one commit, in order; called by the outbox. */
  async publishCommit(commit: Commit): Promise<void> {
    await sendEvents(this.producer, this.config, Topics.events, commitMessages(commit, SOURCE, this.cipher ?? undefined));
  }
}
