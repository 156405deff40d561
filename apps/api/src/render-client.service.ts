import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { parseRenderResult, RenderRequest, renderRequestEvent, RenderResult, Topics, ValuesCipher, API_SOURCE } from '@app/contracts';
import { APP_CONFIG, AppConfig, KAFKA, KAFKA_PRODUCER, LOGGER, messageLimits, topicName, VALUES_CIPHER } from '@app/platform';
import { InstanceConsumer } from './instance-consumer';

type Rendered = RenderResult extends infer R ? (R extends { requestId: string } ? Omit<R, 'requestId'> : never) : never;

/**
 * Asks an executor of a release's cluster for the diff of the manifests a rollback would change (Helm's
 * `get manifest` against `template` of the target), and waits RENDER_TIMEOUT_MS for it. Only an executor
 * reads Helm and the chart repositories; a preview without an answer says so instead of failing.
 */
@Injectable()
export class RenderClient implements OnApplicationShutdown {
  private readonly waiting = new Map<string, (result: RenderResult) => void>();
  private readonly results: InstanceConsumer;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {
    const limits = messageLimits(config);
    this.results = new InstanceConsumer(kafka, config, logger, 'renders', Topics.renderResults, (value) => {
      const parsed = parseRenderResult(value, limits, cipher ?? undefined);
      if (!parsed.ok) throw new Error(parsed.reason);
      this.waiting.get(parsed.value.requestId)?.(parsed.value);
    });
  }

  async render(request: Omit<RenderRequest, 'requestId'>): Promise<Rendered> {
    if (this.waiting.size >= this.config.API_MAX_IN_FLIGHT) return { ok: false, reason: 'too many previews are waiting for a rendering; try again shortly' };
    await this.results.start();
    const requestId = randomUUID();
    const answered = new Promise<RenderResult>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve({ requestId, ok: false, reason: `no executor of cluster '${request.cluster}' rendered the manifests within ${this.config.RENDER_TIMEOUT_MS} ms` });
      }, this.config.RENDER_TIMEOUT_MS);
      this.waiting.set(requestId, (result) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        resolve(result);
      });
    });
    const event = renderRequestEvent({ ...request, requestId }, { id: requestId, source: API_SOURCE }, this.cipher ?? undefined);
    await this.producer.send({ topic: topicName(this.config, Topics.renderRequests), messages: [{ key: request.releaseId, value: JSON.stringify(event) }] });
    const { requestId: _id, ...result } = await answered;
    return result as Rendered;
  }

  onApplicationShutdown(): Promise<void> {
    return this.results.stop();
  }
}
