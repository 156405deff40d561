import { APP_CONFIG, AppConfig, consumerSession, KAFKA, LOGGER, messageChunks, topicName } from '@app/platform';
import { Topics } from '@app/contracts';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CommandProcessor } from './command-processor';
import { PartitionOwnership } from './partition-ownership';
import { RelayAndWatchdog } from './relay-and-watchdog.service';
import { CONSUMER_GROUP } from './release-service.constants';

/** Commands decided per database round trip at most: bounds a batch's memory and the time between heartbeats. */
const CHUNK = 200;
/**
 * And their message bytes at most (a single larger message is a chunk of its own): a command's values are
 * held several times while it is decided (parsed, validated, sealed, stored, projected, sent to the
 * executor), so 200 commands of large values would otherwise take hundreds of MiB at once.
 */
const CHUNK_BYTES = 2 * 1024 * 1024;
/** Commands of different releases run concurrently; one release's stay in order (one partition each). */
const PARTITIONS_CONCURRENTLY = 3;

/**
 * Consumes the commands and outcomes topics a fetch at a time (kafkajs `eachBatch`) rather than a message at a time, so
 * the decisions of one fetch share their database writes and their Kafka send (CommandProcessor.processBatch).
 * An offset is resolved only once every command before it is stored and answered: a crash mid-batch
 * redelivers it, and the commands already decided are answered again from the store.
 */
@Injectable()
export class CommandConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: Consumer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly processor: CommandProcessor,
    private readonly relay: RelayAndWatchdog,
    private readonly ownership: PartitionOwnership,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.config.KAFKA_TOPIC_PREFIX}${CONSUMER_GROUP}`,
      allowAutoTopicCreation: false,
      ...consumerSession(this.config),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer after a retriable error; after any other, nothing would consume the
      // commands any more, so the process exits and its supervisor starts a fresh one.
      if (payload.restart) return;
      this.logger.fatal({ err: payload.error }, 'command consumer crashed; exiting');
      process.exit(1);
    });
    // Partitions just assigned may come from an instance that died between a commit and its publication:
    // this instance's relay owns them now.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      void this.own(payload.memberAssignment).finally(() => this.relay.relaySoon());
    });
    await consumer.connect();
    // A new group starts from the beginning: commands sent before the first start are not lost.
    await consumer.subscribe({ topics: [Topics.commands, Topics.outcomes].map((t) => topicName(this.config, t)), fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const chunk of messageChunks(batch.messages, CHUNK, CHUNK_BYTES)) {
          if (!isRunning() || isStale()) return;
          await this.processor.processBatch(chunk, batch.topic, batch.partition, heartbeat);
          resolveOffset(chunk[chunk.length - 1].offset);
          await heartbeat();
        }
      },
    });
  }

  /** Tells the relay which streams are this instance's: those of its partitions of the commands topic. */
  private async own(assignment: Record<string, number[]>): Promise<void> {
    const topic = topicName(this.config, Topics.commands);
    let count = this.config.KAFKA_TOPIC_PARTITIONS;
    const admin = this.kafka.admin();
    try {
      // The topic's own count, in case it was made with another than the configured one.
      await admin.connect();
      count = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length || count;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the partition count of the commands topic; using the configured one');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.ownership.assign(assignment[topic] ?? [], count);
  }

  /** Lets the batch in progress finish (its offsets are then committed) before the producer and database close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.processor.stop();
    await this.consumer?.disconnect();
  }
}
