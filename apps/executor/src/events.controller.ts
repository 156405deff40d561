import { parseDriftCheckRequest, parseReleaseEvent, parseRenderRequest, Topics, ValuesCipher } from '@app/contracts';
import { APP_CONFIG, AppConfig, deadLetter, KAFKA_PRODUCER, LOGGER, messageParseOptions, VALUES_CIPHER } from '@app/platform';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CONSUMER_GROUP, DRIFT_CHECKS_TOPIC, EVENTS_TOPIC, RENDER_REQUESTS_TOPIC } from './executor.constants';
import { ExecutorService, isOperationRequested } from './executor.service';
import { ManifestRenderer } from './manifest-renderer';
import { ServedClusters } from './served-clusters';

@Controller()
export class EventsController {
  private readonly parseOptions: ReturnType<typeof messageParseOptions>;

  constructor(
    private readonly executor: ExecutorService,
    private readonly renderer: ManifestRenderer,
    private readonly served: ServedClusters,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(VALUES_CIPHER) cipher: ValuesCipher | null,
  ) {
    this.parseOptions = messageParseOptions(config, cipher);
  }

  @EventPattern(EVENTS_TOPIC)
  async handle(@Ctx() context: KafkaContext): Promise<void> {
    const message = context.getMessage();
    // Anyone who can write to the topic can reach this point: what Helm runs is validated first.
    const parsed = parseReleaseEvent(message.value as Buffer | null, this.parseOptions);
    if (!parsed.ok) {
      this.logger.warn({ error: parsed.reason, partition: context.getPartition(), offset: message.offset }, 'event dead-lettered');
      await deadLetter(this.producer, this.config, Topics.eventsDlq, { ...message, topic: context.getTopic(), partition: context.getPartition() }, parsed.reason, CONSUMER_GROUP);
      return;
    }
    const { received } = parsed;
    if (!received || !isOperationRequested(received.event)) return;
    // Each served cluster's group delivers every operation: this one acts for its own cluster only.
    if (received.event.data.cluster !== this.served.clusterOf(context.getConsumer())) return;
    await this.executor.execute({ ...received, event: received.event }, context.getHeartbeat());
  }

  @EventPattern(DRIFT_CHECKS_TOPIC)
  async checkDrift(@Ctx() context: KafkaContext): Promise<void> {
    const message = context.getMessage();
    const parsed = parseDriftCheckRequest(message.value as Buffer | null, this.parseOptions.limits);
    if (!parsed.ok) {
      this.logger.warn({ error: parsed.reason, partition: context.getPartition(), offset: message.offset }, 'drift check dead-lettered');
      await deadLetter(this.producer, this.config, Topics.eventsDlq, { ...message, topic: context.getTopic(), partition: context.getPartition() }, parsed.reason, CONSUMER_GROUP);
      return;
    }
    if (parsed.request.cluster !== this.served.clusterOf(context.getConsumer())) return;
    await this.executor.checkDrift(parsed.id, parsed.request);
  }

  @EventPattern(RENDER_REQUESTS_TOPIC)
  async render(@Ctx() context: KafkaContext): Promise<void> {
    const message = context.getMessage();
    // What Helm renders is validated like what it applies: the chart reference and values of the schemas.
    const parsed = parseRenderRequest(message.value as Buffer | null, this.parseOptions.limits, this.parseOptions.cipher);
    if (!parsed.ok) {
      this.logger.warn({ error: parsed.reason, partition: context.getPartition(), offset: message.offset }, 'render request dead-lettered');
      await deadLetter(this.producer, this.config, Topics.eventsDlq, { ...message, topic: context.getTopic(), partition: context.getPartition() }, parsed.reason, CONSUMER_GROUP);
      return;
    }
    if (parsed.value.cluster !== this.served.clusterOf(context.getConsumer())) return;
    await this.renderer.render(parsed.value);
  }
}
