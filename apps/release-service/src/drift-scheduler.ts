import { driftCheckEvent, Topics } from '@app/contracts';
import { LEGACY_CLUSTER } from '@app/domain';
import { ReleaseReadModel } from '@app/release-store';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, LOGGER, PeriodicJob, sendEvents } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { SOURCE } from './release-service.constants';

/** Releases asked about per send while walking the read model. */
const PAGE = 100;

/**
 * The drift schedule: every DRIFT_CHECK_INTERVAL_SECONDS, each settled release (nothing pending, not
 * uninstalled, in Helm) is sent to the executor, which reads Helm, with the newest Helm revision its history knows
 * of. The answer comes back as a RecordDriftCheck command, decided like any other. Request ids are per
 * release and interval, so instances that both send make one check's answer, decided once.
 */
@Injectable()
export class DriftScheduler extends PeriodicJob {
  constructor(
    private readonly readModel: ReleaseReadModel,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    super({ everyMs: config.DRIFT_CHECK_INTERVAL_SECONDS * 1000, failed: (error) => logger.warn({ err: error }, 'drift checks not requested; will retry') });
  }

  protected runOnce(now: Date): Promise<number> {
    return this.requestChecks(now);
  }

  /** Sends a drift check for every settled release; returns how many. */
  async requestChecks(now: Date): Promise<number> {
    const window = Math.floor(now.getTime() / Math.max(1, this.config.DRIFT_CHECK_INTERVAL_SECONDS * 1000));
    let sent = 0;
    for (let after: string | undefined; ; ) {
      const page = await this.readModel.list({ limit: PAGE, ...(after ? { after } : {}) });
      const settled = page.filter((v) => v.pendingOperationId === null && v.status !== 'UNINSTALLED' && v.knownHelmRevision);
      await sendEvents(
        this.producer,
        this.config,
        Topics.driftChecks,
        settled.map((v) => ({
          key: v.releaseId,
          event: driftCheckEvent(
            { releaseId: v.releaseId, cluster: v.cluster ?? LEGACY_CLUSTER, name: v.name, namespace: v.namespace, knownHelmRevision: v.knownHelmRevision },
            { id: `drift:${v.releaseId}:${window}`, source: SOURCE },
          ),
        })),
      );
      sent += settled.length;
      if (page.length < PAGE) return sent;
      after = page[page.length - 1]._id;
    }
  }
}
