import { hostname } from 'node:os';
import { DriftCheckRequest, ReceivedReleaseEvent, redactText, ValuesCipher } from '@app/contracts';
import type { OperationRequested, RecordOperationResult } from '@app/domain';
import { HelmPort, KubeApi, kubeAuth, ReleaseLease } from '@app/helm';
import { APP_CONFIG, AppConfig, checkChartRepository, executorClusters, KAFKA_PRODUCER, LOGGER, METRICS_REGISTRY, sendCommands, VALUES_CIPHER } from '@app/platform';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { HELMS, SOURCE } from './executor.constants';
import { madeOutside, readHelmMade } from './helm-made';
import { OperationRunner } from './operation-runner';

const OPERATION_TYPES = new Set(['InstallRequested', 'UpgradeRequested', 'RollbackRequested', 'UninstallRequested']);
export const isOperationRequested = (event: { type: string }): event is OperationRequested => OPERATION_TYPES.has(event.type);

/**
 * Runs requested operations and reports each outcome as a command. Redelivered events are harmless: an
 * operation already done by this process is skipped, and after a restart a re-run applies the same
 * desired state while the aggregate accepts only the first outcome (the outcome's command id is
 * derived from the operation id, so a repeated report is a duplicate command).
 */
/** How often the executor looks again at a Helm lock another client holds. */
const HELM_LOCK_POLL_MS = 2_000;
/** A release lease not renewed for this long (its executor was killed) is free. */
const LEASE_SECONDS = 15;

@Injectable()
export class ExecutorService implements BeforeApplicationShutdown {
  /** An operation runner per served cluster, each on its cluster's Helm and Leases. */
  private readonly runners: ReadonlyMap<string, OperationRunner>;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly recentlyDone = new Set<string>();
  private readonly operations: Counter;
  private readonly duration: Histogram;

  constructor(
    @Inject(HELMS) private readonly helms: ReadonlyMap<string, HelmPort>,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {
    const kubeconfigs = new Map(executorClusters(config).map((c) => [c.name, c.kubeconfig]));
    this.runners = new Map(
      [...helms].map(([cluster, helm]) => [cluster, new OperationRunner(helm, { lockGraceMs: config.HELM_LOCK_GRACE_SECONDS * 1000, pollMs: HELM_LOCK_POLL_MS }, this.releaseLease(cluster, kubeconfigs.get(cluster)))]),
    );
    this.operations = new Counter({ name: 'helm_operations_total', help: 'Helm operations by type and outcome', labelNames: ['type', 'outcome'], registers: [registry] });
    this.duration = new Histogram({
      name: 'helm_operation_seconds',
      help: 'Duration of Helm operations, including reporting the outcome',
      labelNames: ['type'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    });
  }

  async execute(received: ReceivedReleaseEvent & { event: OperationRequested }, heartbeat: () => Promise<void>): Promise<void> {
    const { event } = received;
    const operationId = event.data.operationId;
    const runner = this.runners.get(event.data.cluster);
    // Another cluster's: its executors run it (the events controller does not pass it on).
    if (!runner) return;
    if (this.recentlyDone.has(operationId) || this.inFlight.has(operationId)) return;
    const log = this.logger.child({ releaseId: received.releaseId, operationId, operation: event.type, correlationId: received.correlationId });
    if (Date.parse(event.data.deadline) < Date.now()) {
      // Past its deadline the watchdog fails the operation; acting now would change a settled release.
      log.warn({ deadline: event.data.deadline }, 'operation past its deadline skipped');
      return;
    }
    const abort = new AbortController();
    const started = process.hrtime.bigint();
    // A Helm call can outlast the consumer session; keep the group membership alive meanwhile.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 3_000);
    const done = (async () => {
      log.info('operation started');
      const outcome = (await this.refusal(event)) ?? (await runner.run(event, abort.signal));
      const id = `outcome:${operationId}`;
      // Helm's error text can quote values: it travels sealed like them.
      await sendCommands(
        this.producer,
        this.config,
        [{ command: { type: 'RecordOperationResult', data: outcome }, context: { id, source: SOURCE, actor: 'system:executor', correlationId: received.correlationId ?? operationId, causationId: received.id } }],
        this.cipher,
      );
      this.remember(operationId);
      this.operations.inc({ type: event.type, outcome: outcome.outcome });
      this.duration.observe({ type: event.type }, Number(process.hrtime.bigint() - started) / 1e9);
      log.info({ outcome: outcome.outcome, helmRevision: outcome.helmRevision, ...(outcome.error ? { error: redactText(outcome.error) } : {}) }, 'operation finished');
    })();
    this.inFlight.set(operationId, { abort, done });
    try {
      await done;
    } finally {
      clearInterval(beat);
      this.inFlight.delete(operationId);
    }
  }

  /**
   * A drift check: Helm's revisions of the release made outside the service above the newest its history
   * knows of, reported as a RecordDriftCheck (none: in sync, which is reported too, for the check's time).
   * A check that cannot read Helm reports nothing: the next one tries again.
   */
  async checkDrift(requestId: string, request: DriftCheckRequest): Promise<void> {
    const { releaseId, name, namespace, knownHelmRevision } = request;
    const helm = this.helms.get(request.cluster);
    if (!helm) return;
    try {
      const outside = madeOutside(await helm.history(name, namespace), knownHelmRevision);
      const revisions = await readHelmMade(helm, name, namespace, outside);
      await sendCommands(
        this.producer,
        this.config,
        [{ command: { type: 'RecordDriftCheck', data: { releaseId, revisions, checkedAt: new Date().toISOString() } }, context: { id: `drift-check:${requestId}`, source: SOURCE, actor: 'system:executor', correlationId: requestId } }],
        this.cipher,
      );
      if (revisions.length) this.logger.warn({ releaseId, helmRevisions: revisions.map((r) => r.helmRevision) }, 'drift found: Helm revisions made outside the service');
    } catch (error) {
      this.logger.warn({ releaseId, error: redactText((error as Error).message) }, 'drift check failed; the next one tries again');
    }
  }

  /**
   * On SIGTERM running Helm calls may finish within the grace period; past it they are aborted and
   * reported as failed. Either way every operation this process started is reported before it exits.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const waitMs = Math.max(0, this.config.SHUTDOWN_GRACE_MS - 5_000);
    this.logger.warn({ operations: [...this.inFlight.keys()], waitMs }, 'waiting for running operations before shutdown');
    const all = Promise.allSettled([...this.inFlight.values()].map((o) => o.done));
    const timer = setTimeout(() => {
      for (const { abort } of this.inFlight.values()) abort.abort('executor shutting down');
    }, waitMs);
    await all;
    clearTimeout(timer);
  }

  /**
   * The chart repository is checked again here, as the API checked it: the executor acts on what the topic
   * says, and the allow-list or the repository's addresses may have changed since the API accepted it.
   */
  private async refusal(event: OperationRequested): Promise<RecordOperationResult['data'] | undefined> {
    if (event.type === 'UninstallRequested') return undefined;
    const checked = await checkChartRepository(this.config, event.data.chart.repository);
    if (checked.ok) return undefined;
    const { releaseId, operationId } = event.data;
    return { releaseId, operationId, outcome: 'FAILED', error: `REPOSITORY_NOT_ALLOWED: ${checked.reason}; the executor ran nothing`, notRun: true };
  }

  /**
   * The per-release lease, in the cluster the operation's Helm runs on. Its holder is this process: a restarted
   * executor waits for its predecessor's lease to expire, as it cannot know whether that one's Helm call ended.
   */
  private releaseLease(cluster: string, kubeconfig: string | undefined): ConstructorParameters<typeof OperationRunner>[2] {
    let auth: ReturnType<typeof kubeAuth>;
    try {
      auth = kubeAuth(kubeconfig);
    } catch (error) {
      this.logger.warn({ cluster, error: (error as Error).message }, 'no Kubernetes API for release leases: operations run without one');
      return undefined;
    }
    const lease = new ReleaseLease(new KubeApi(auth), { namespace: this.config.EXECUTOR_LEASE_NAMESPACE, holder: `${hostname()}:${process.pid}`, durationSeconds: LEASE_SECONDS });
    return { lease, renewMs: (LEASE_SECONDS * 1000) / 3, pollMs: 1_000 };
  }

  private remember(operationId: string): void {
    this.recentlyDone.add(operationId);
    if (this.recentlyDone.size > 10_000) this.recentlyDone.delete(this.recentlyDone.values().next().value as string);
  }
}
