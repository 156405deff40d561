import { parseInventoryReport, Topics } from '@app/contracts';
import { HelmInventory } from '@app/release-store';
import { APP_CONFIG, AppConfig, consumerSession, deadLetter, KAFKA, KAFKA_PRODUCER, LOGGER, messageParseOptions, topicName } from '@app/platform';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CONSUMER_GROUP } from './release-service.constants';

/** The inventory has a consumer group of its own: a report never waits behind a fetch of commands. */
const INVENTORY_GROUP = `${CONSUMER_GROUP}-inventory`;

/**
 * Keeps the executors' inventory reports (the Helm releases of the cluster) in HelmInventory, where an
 * install's decision looks its namespace and name up. A report that is not one is dead-lettered with the
 * reason; a database that is away is waited out by kafkajs' retries, the offset not committed meanwhile.
 */
@Injectable()
export class InventoryConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: Consumer;
  private readonly limits: ReturnType<typeof messageParseOptions>['limits'];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inventory: HelmInventory,
  ) {
    this.limits = messageParseOptions(config, null).limits;
  }

  async onApplicationBootstrap(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `${this.config.KAFKA_TOPIC_PREFIX}${INVENTORY_GROUP}`, allowAutoTopicCreation: false, ...consumerSession(this.config) });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: topicName(this.config, Topics.inventory), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const parsed = parseInventoryReport(message.value, this.limits);
        if (!parsed.ok) {
          this.logger.warn({ error: parsed.reason, partition, offset: message.offset }, 'inventory report dead-lettered');
          await deadLetter(this.producer, this.config, Topics.eventsDlq, { ...message, topic, partition }, parsed.reason, INVENTORY_GROUP);
          return;
        }
        const recorded = await this.inventory.record(parsed.report);
        this.logger.debug({ cluster: parsed.report.cluster, releases: parsed.report.releases.length, recorded }, 'Helm inventory report');
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
