import { MongoEventStore, OutboxDispatcher } from '@app/event-store';
import { HelmInventory, ReleaseReadModel, ReleaseView } from '@app/release-store';
import { LEGACY_CLUSTER } from '@app/domain';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, LOGGER, sendCommands } from '@app/platform';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CommandProcessor } from './command-processor';
import { PartitionOwnership } from './partition-ownership';
import { RELAY_AFTER_MS, RELAY_INTERVAL_MS, RELAY_UNOWNED_AFTER_MS, SOURCE, WATCHDOG_INTERVAL_MS, WATCHDOG_SWEEP_MS } from './release-service.constants';

/**
 * Two timers that keep promises the command path cannot keep alone:
 * - the outbox relay publishes commits a crash or a broker outage left undispatched, and repairs the read
 *   model of their streams;
 * - the watchdog fails operations whose outcome never came, so no release stays pending forever, and asks
 *   for the retries remediation scheduled once they are due. It does so by publishing commands, so each
 *   decision goes through the same partition and rules as any other.
 */
@Injectable()
export class RelayAndWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: MongoEventStore,
    private readonly readModel: ReleaseReadModel,
    private readonly inventory: HelmInventory,
    private readonly outbox: OutboxDispatcher,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly processor: CommandProcessor,
    private readonly ownership: PartitionOwnership,
  ) {}

  onApplicationBootstrap(): void {
    // The command path publishes its own commits and retries them through broker outages; the relay is
    // for what a crashed instance left behind, which it looks for right after a start and an assignment.
    this.relaySoon = this.every(RELAY_INTERVAL_MS, () => this.relay(), RELAY_AFTER_MS + 1_000);
    // The sweep asks the read model for every pending release: it scales with them, so it runs seldom;
    // in between, the operations this instance decided are checked in memory.
    let lastSweep = Date.now();
    this.every(WATCHDOG_INTERVAL_MS, () => {
      const sweep = Date.now() - lastSweep >= WATCHDOG_SWEEP_MS;
      if (sweep) lastSweep = Date.now();
      return Promise.all([this.watchdog(new Date(), sweep), this.retries(new Date())]);
    });
  }

  /** Runs the relay RELAY_AFTER_MS from now (after a partition assignment: a crashed owner's leftovers). */
  relaySoon: () => void = () => undefined;

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach((t) => clearTimeout(t));
    await Promise.allSettled([...this.running]);
  }

  /** Publishes the undispatched commits of the streams this instance owns, and of any left unpublished long. */
  async relay(): Promise<number> {
    const now = Date.now();
    const [left, long] = await Promise.all([
      this.store.streamsWithUndispatched(new Date(now - RELAY_AFTER_MS)),
      this.store.streamsWithUndispatched(new Date(now - RELAY_UNOWNED_AFTER_MS)),
    ]);
    const unowned = new Set(long);
    const streams = left.filter((id) => this.ownership.owns(id) || unowned.has(id));
    for (const streamId of streams) {
      await this.readModel.catchUp(this.store, streamId);
      const published = await this.outbox.dispatchStream(streamId);
      if (published) this.logger.warn({ releaseId: streamId, published }, 'relay published undispatched commits');
    }
    return streams.length;
  }

  /**
   * Why the operations of these releases may have gone unanswered, by release: their cluster's executors
   * have not listed it for three of their intervals (or never have), so none may be serving it.
   */
  private async silentExecutors(overdue: Array<Pick<ReleaseView, 'releaseId' | 'cluster'>>, now: Date): Promise<Map<string, string>> {
    const reasons = new Map<string, string>();
    if (this.config.HELM_INVENTORY_INTERVAL_SECONDS === 0) return reasons;
    const byCluster = new Map<string, string | null>();
    for (const { releaseId, cluster = LEGACY_CLUSTER } of overdue) {
      if (!byCluster.has(cluster)) {
        const last = await this.inventory.lastReport(cluster);
        const stale = !last || now.getTime() - last.getTime() > 3 * this.config.HELM_INVENTORY_INTERVAL_SECONDS * 1000;
        byCluster.set(cluster, stale ? `no executor of cluster '${cluster}' has reported ${last ? `since ${last.toISOString()}` : 'yet'}` : null);
      }
      const reason = byCluster.get(cluster);
      if (reason) reasons.set(releaseId, reason);
    }
    return reasons;
  }

  /**
   * Expires operations past their deadline: those this instance holds in memory, each confirmed by its
   * read-model view (a cached copy may be stale), or with `sweep`, every pending release in the read model.
   */
  async watchdog(now = new Date(), sweep = true): Promise<number> {
    const at = now.toISOString();
    const overdue: Array<Pick<ReleaseView, 'releaseId' | 'pendingOperationId' | 'cluster'>> = sweep ? await this.readModel.overdue(at) : [];
    if (!sweep) {
      for (const candidate of this.processor.pendingInMemory().filter((p) => p.deadline < at)) {
        const view = await this.readModel.get(candidate.releaseId);
        if (view?.pendingOperationId === candidate.operationId && view.pendingDeadline !== null && view.pendingDeadline < at) overdue.push(view);
      }
    }
    const silent = await this.silentExecutors(overdue, now);
    await sendCommands(
      this.producer,
      this.config,
      overdue.map(({ releaseId, pendingOperationId }) => ({
        command: { type: 'ExpireOperation', data: { releaseId, operationId: pendingOperationId!, ...(silent.has(releaseId) ? { reason: silent.get(releaseId) } : {}) } },
        // One id per operation and minute: a repeat within the minute is deduplicated, a later one retries.
        context: { id: `expire:${pendingOperationId}:${now.toISOString().slice(0, 16)}`, source: SOURCE, actor: 'system:watchdog', correlationId: pendingOperationId! },
      })),
    );
    if (overdue.length) this.logger.warn({ releases: overdue.map((r) => r.releaseId) }, 'watchdog expired overdue operations');
    return overdue.length;
  }

  /**
   * Asks for each scheduled retry that is due (a backoff of its own, not a sleeping consumer). The command
   * id names the failed revision and the minute: a repeat is deduplicated, a refused one is asked again.
   */
  async retries(now = new Date()): Promise<number> {
    const due = await this.readModel.retriesDue(now.toISOString());
    await sendCommands(
      this.producer,
      this.config,
      due.map(({ releaseId, retry }) => ({
        command: { type: 'RetryOperation', data: { releaseId, revision: retry!.revision, trigger: 'AUTOMATIC' } },
        context: { id: `retry:${releaseId}:${retry!.revision}:${retry!.attempt}:${now.toISOString().slice(0, 16)}`, source: SOURCE, actor: 'system:watchdog', correlationId: `retry:${releaseId}:${retry!.revision}` },
      })),
    );
    if (due.length) this.logger.info({ releases: due.map((r) => r.releaseId) }, 'watchdog asked for due retries');
    return due.length;
  }

  /** Runs `task` every `ms` (never two at once); returns a function that runs it once RELAY_AFTER_MS later. */
  private every(ms: number, task: () => Promise<unknown>, firstAfterMs?: number): () => void {
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      const run = task()
        .catch((error) => this.logger.warn({ err: error }, 'background task failed; will retry'))
        .finally(() => {
          busy = false;
          this.running.delete(run);
        });
      this.running.add(run);
    };
    const timer = setInterval(tick, ms);
    timer.unref();
    this.timers.push(timer);
    if (firstAfterMs !== undefined && firstAfterMs < ms) {
      const first = setTimeout(tick, firstAfterMs);
      first.unref();
      this.timers.push(first);
    }
    return () => {
      const soon = setTimeout(tick, RELAY_AFTER_MS + 1_000);
      soon.unref();
      this.timers.push(soon);
    };
  }
}
