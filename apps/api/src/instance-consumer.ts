import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { TopicName } from '@app/contracts';
import { AppConfig, consumerSession, topicName } from '@app/platform';

/**
 * One topic read by this API instance alone, from its end: a consumer group of its own (`api-<purpose>-<uuid>`,
 * which the ACLs grant by prefix), made at `start` and removed at `stop`. Request/reply and live pages read
 * so: every instance sees every message and picks the ones it waits for.
 */
export class InstanceConsumer {
  readonly groupId: string;
  private consumer?: Consumer;
  private started?: Promise<void>;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: AppConfig,
    private readonly logger: Logger,
    purpose: 'replies' | 'stream' | 'renders',
    private readonly topic: TopicName,
    /** Called for each message; what it throws is logged and the message skipped (a message never stops the consumer). */
    private readonly onMessage: (value: Buffer | null) => void,
  ) {
    this.groupId = `${config.KAFKA_TOPIC_PREFIX}api-${purpose}-${randomUUID()}`;
  }

  /** Resolves once the group has joined and fetched: a message published after that is seen. Idempotent; a failed start may be tried again. */
  start(): Promise<void> {
    this.started ??= this.join().catch((error) => {
      this.started = undefined;
      throw error;
    });
    return this.started;
  }

  async stop(): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    // The group is this instance's: remove it rather than leave it behind.
    await admin
      .connect()
      .then(() => admin.deleteGroups([this.groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }

  private async join(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, ...consumerSession(this.config) });
    this.consumer = consumer;
    const fetching = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topicName(this.config, this.topic), fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          this.onMessage(message.value);
        } catch (error) {
          this.logger.warn({ err: error, topic: this.topic }, 'unreadable message skipped');
        }
      },
    });
    await fetching;
  }
}
