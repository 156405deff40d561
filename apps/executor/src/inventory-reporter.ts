import { HelmListedSchema, inventoryEvent, MAX_INVENTORY_RELEASES, redactText, Topics } from '@app/contracts';
import { HelmPort } from '@app/helm';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, LOGGER, PeriodicJob, sendEvents } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { HELMS, SOURCE } from './executor.constants';

/**
 * Lists each served cluster's Helm releases every HELM_INVENTORY_INTERVAL_SECONDS (and at start) and reports them on
 * the inventory topic. The release service keeps the latest report, so an install over a Helm release made
 * outside the service is refused when it is decided, not only when the executor is about to run it. A
 * report may be a little old: the executor's own check before every install stays the last word.
 */
@Injectable()
export class InventoryReporter extends PeriodicJob {
  constructor(
    @Inject(HELMS) private readonly helms: ReadonlyMap<string, HelmPort>,
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

  /** Lists each served cluster's Helm releases and sends one report per cluster; returns how many releases they carry. */
  async report(now: Date): Promise<number> {
    const takenAt = now.toISOString();
    let reported = 0;
    const failures: string[] = [];
    for (const [cluster, helm] of this.helms) {
      // A cluster that does not answer leaves the others' reports whole.
      try {
        reported += await this.reportCluster(cluster, helm, takenAt);
      } catch (error) {
        failures.push(`cluster ${cluster}: ${(error as Error).message}`);
      }
    }
    if (failures.length) throw new Error(failures.join('; '));
    return reported;
  }

  private async reportCluster(cluster: string, helm: HelmPort, takenAt: string): Promise<number> {
    // One more than a report carries tells whether Helm holds more than that.
    const listed = await helm.list(MAX_INVENTORY_RELEASES + 1);
    // What the report's schema would refuse (a chart name past its bound, say) is left out, not the report.
    const releases = listed.slice(0, MAX_INVENTORY_RELEASES).filter((r) => HelmListedSchema.safeParse(r).success);
    await sendEvents(this.producer, this.config, Topics.inventory, [
      {
        key: cluster,
        event: inventoryEvent({ cluster, takenAt, complete: listed.length <= MAX_INVENTORY_RELEASES, releases }, { id: `inventory:${cluster}:${takenAt}`, source: SOURCE }),
      },
    ]);
    return releases.length;
  }
}
