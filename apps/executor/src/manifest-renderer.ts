import { MAX_RENDERED_DIFF_BYTES, redactText, RenderRequest, RenderResult, renderResultEvent, Topics, ValuesCipher } from '@app/contracts';
import { diffManifests, HelmPort } from '@app/helm';
import { APP_CONFIG, AppConfig, checkChartRepository, KAFKA_PRODUCER, LOGGER, topicName, VALUES_CIPHER } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { HELMS, SOURCE } from './executor.constants';

/** How long one rendering may take: a pull of the chart when it is not kept, and `helm template`. */
const RENDER_TIMEOUT_SECONDS = 60;

/**
 * A rollback preview's rendered diff: the manifest Helm holds for the release now against what the target's
 * chart archive (its recorded digest checked) and values render to, Secret data masked. Nothing is applied.
 * The answer goes to the results topic, sealed like values when a values key is set.
 */
@Injectable()
export class ManifestRenderer {
  constructor(
    @Inject(HELMS) private readonly helms: ReadonlyMap<string, HelmPort>,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {}

  async render(request: RenderRequest): Promise<void> {
    const helm = this.helms.get(request.cluster);
    if (!helm) return;
    const result = await this.diff(helm, request);
    const event = renderResultEvent(request.releaseId, result, { id: `render:${request.requestId}`, source: SOURCE }, this.cipher ?? undefined);
    await this.producer.send({ topic: topicName(this.config, Topics.renderResults), messages: [{ key: request.releaseId, value: JSON.stringify(event) }] });
  }

  private async diff(helm: HelmPort, request: RenderRequest): Promise<RenderResult> {
    const { requestId, releaseId, name, namespace } = request;
    // What an operation would pull is checked as an operation's is: the allow-list may have changed.
    const checked = await checkChartRepository(this.config, request.chart.repository);
    if (!checked.ok) return { requestId, ok: false, reason: `REPOSITORY_NOT_ALLOWED: ${checked.reason}; nothing was rendered` };
    try {
      const [current, target] = await Promise.all([
        helm.manifest(name, namespace),
        helm.template({
          name,
          namespace,
          chart: request.chart,
          chartVersion: request.chartVersion,
          values: request.values,
          ...(request.chartDigest ? { expectedDigest: request.chartDigest } : {}),
          timeoutSeconds: RENDER_TIMEOUT_SECONDS,
        }),
      ]);
      return { requestId, ok: true, ...diffManifests(current, target, { namespace, maxBytes: MAX_RENDERED_DIFF_BYTES }) };
    } catch (error) {
      // Helm's text can quote values: redacted, and only callers who may read values are shown it.
      const reason = redactText((error as Error).message).slice(0, 2000);
      this.logger.warn({ releaseId, requestId, error: reason }, 'rendering failed');
      return { requestId, ok: false, reason: `the manifests could not be rendered: ${reason}` };
    }
  }
}
