import { HelmListedSchema, inventoryEvent, MAX_INVENTORY_RELEASES, redactText, Topics } from '@app/contracts';
import { HelmPort } from '@app/helm';
import { APP_CONFIG, AppConfig, executorCluster, KAFKA_PRODUCER, LOGGER, PeriodicJob, sendEvents } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { HELM, SOURCE } from './executor.constants';

/**
 * Lists the cluster's Helm releases every HELM_INVENTORY_INTERVAL_SECONDS (and at start) and reports them on
 * the inventory topic. The release service keeps the latest report, so an install over a Helm release made
 * outside the service is refused when it is decided, not only when the executor is about to run it. A
 * report may be a little old: the executor's own check before every install stays the last word.
 */
@Injectable()
export class InventoryReporter extends PeriodicJob {
  constructor(
    @Inject(HELM) private readonly helm: HelmPort,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    super({
      everyMs: config.HELM_INVENTORY_INTERVAL_SECONDS * 1000,
      immediately: true,
      failed: (error) => logger.warn({ error: redactText((error as Error).message) }, 'Helm inventory not reported; the next one tries again'),
    });
  }

  protected runOnce(now: Date): Promise<number> {
    return this.report(now);
  }

  /** Lists Helm's releases and sends one report; returns how many releases it carries. */
  async report(now: Date): Promise<number> {
    // One more than a report carries tells whether Helm holds more than that.
    const listed = await this.helm.list(MAX_INVENTORY_RELEASES + 1);
    // What the report's schema would refuse (a chart name past its bound, say) is left out, not the report.
    const releases = listed.slice(0, MAX_INVENTORY_RELEASES).filter((r) => HelmListedSchema.safeParse(r).success);
    const takenAt = now.toISOString();
    const cluster = executorCluster(this.config).name;
    await sendEvents(this.producer, this.config, Topics.inventory, [
      {
        key: cluster,
        event: inventoryEvent({ cluster, takenAt, complete: listed.length <= MAX_INVENTORY_RELEASES, releases }, { id: `inventory:${cluster}:${takenAt}`, source: SOURCE }),
      },
    ]);
    return releases.length;
  }
}
