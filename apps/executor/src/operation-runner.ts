import { isDeepStrictEqual } from 'node:util';
import { testSeconds, type OperationRequested, type RecordOperationResult, type RollbackRequested } from '@app/domain';
import { AppliedRelease, HelmError, HelmHistoryEntry, HelmPort, ReleaseLease } from '@app/helm';
import { preflight, PreflightOptions } from './helm-preflight';

type Outcome = RecordOperationResult['data'];

/**
 * Performs one requested operation through Helm and says what happened, as the data of an
 * operation-result command. Never throws for a Helm failure: a failure is an outcome to report.
 */
export class OperationRunner {
  constructor(
    private readonly helm: HelmPort,
    private readonly preflightOptions: PreflightOptions,
    /** One executor at a time per Helm release (see ReleaseLease); absent: none is taken. */
    private readonly lease?: { lease: ReleaseLease; renewMs: number; pollMs: number },
  ) {}

  async run(event: OperationRequested, signal?: AbortSignal): Promise<Outcome> {
    if (!this.lease) return this.runHeld(event, signal);
    const { releaseId, operationId, name, namespace, deadline, timeoutSeconds } = event.data;
    const { lease, renewMs, pollMs } = this.lease;
    // Waiting longer would leave the operation too little of its time before the watchdog fails it.
    const startBy = (Date.parse(deadline) || 0) - (timeoutSeconds + testSeconds('test' in event.data ? event.data.test : undefined)) * 1000;
    for (;;) {
      let taken: Awaited<ReturnType<ReleaseLease['acquire']>>;
      try {
        taken = await lease.acquire(namespace, name);
      } catch (error) {
        return { releaseId, operationId, outcome: 'FAILED', error: `could not take the release's lease: ${(error as Error).message.slice(0, 4_000)}`, notRun: true };
      }
      if (taken.held) break;
      if (Date.now() + pollMs > startBy || signal?.aborted) {
        return { releaseId, operationId, outcome: 'FAILED', notRun: true, error: `LEASE_HELD: ${taken.holder} is running an operation on ${namespace}/${name}; waited until the operation had no time left; nothing was run` };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    const renewing = setInterval(() => void lease.renew(namespace, name).catch(() => false), renewMs);
    try {
      return await this.runHeld(event, signal);
    } finally {
      clearInterval(renewing);
      await lease.release(namespace, name).catch(() => undefined);
    }
  }

  /** The operation, with the release's lease held (or none configured). */
  private async runHeld(event: OperationRequested, signal?: AbortSignal): Promise<Outcome> {
    const { releaseId, operationId } = event.data;
    let before: Awaited<ReturnType<typeof preflight>>;
    try {
      before = await preflight(this.helm, event, this.preflightOptions, signal);
    } catch (error) {
      return { releaseId, operationId, outcome: 'FAILED', error: `could not read Helm's history before running: ${(error as Error).message.slice(0, 4_000)}`, notRun: true };
    }
    // A redelivered operation found done in Helm is verified too: the executor that ran it may have
    // stopped before its tests did.
    if (before.outcome) return before.outcome.imported ? before.outcome : this.verify(event, before.outcome, signal);
    const outcome = await this.verify(event, await this.perform(event, before.history, signal), signal);
    return {
      ...outcome,
      ...(before.released ? { lockReleased: before.released } : {}),
      ...(before.external?.length ? { external: before.external } : {}),
    };
  }

  /**
   * Post-deploy verification: `helm test` after an install, upgrade or rollback that succeeded, when the
   * release's policy asks for it. A failure fails the revision (TESTS_FAILED, Helm's output), unless the
   * policy ignores failures: the revision then stays deployed with the failure recorded. Tests that could
   * not be run at all (aborted, the release gone) fail the operation as any Helm failure does.
   */
  private async verify(event: OperationRequested, outcome: Outcome, signal?: AbortSignal): Promise<Outcome> {
    if (event.type === 'UninstallRequested' || outcome.outcome !== 'SUCCEEDED' || !event.data.test?.enable) return outcome;
    const { name, namespace, test } = event.data;
    try {
      const run = await this.helm.test(name, namespace, testSeconds(test), signal);
      if (run.passed) return { ...outcome, tests: { result: 'PASSED' } };
      const error = `TESTS_FAILED: ${run.output}`;
      return test.ignoreFailures
        ? { ...outcome, tests: { result: 'FAILED', ignored: true }, error }
        : { ...outcome, outcome: 'FAILED', tests: { result: 'FAILED' }, error };
    } catch (error) {
      return { ...outcome, outcome: 'FAILED', error: `TESTS_NOT_RUN: ${(error as Error).message.slice(0, 4_000)}` };
    }
  }

  /** Runs the operation through Helm; a Helm failure is an outcome, not an error. */
  private async perform(event: OperationRequested, history: HelmHistoryEntry[] | undefined, signal?: AbortSignal): Promise<Outcome> {
    const { releaseId, operationId } = event.data;
    try {
      switch (event.type) {
        case 'InstallRequested':
        case 'UpgradeRequested': {
          const d = event.data;
          // Only installs are atomic in Helm: a failed atomic upgrade is rolled back by remediation as a
          // revision of its own, so the history shows it (Helm's --atomic would hide it in Helm's history).
          const applied = await this.helm.apply(
            { name: d.name, namespace: d.namespace, chart: d.chart, chartVersion: d.chartVersion, values: d.values, timeoutSeconds: d.timeoutSeconds, operationId, ...newest(history), ...(d.options ? { options: d.options } : {}) },
            { atomic: event.type === 'InstallRequested' && d.atomic, ...(signal ? { signal } : {}) },
          );
          return succeeded(releaseId, operationId, applied);
        }
        case 'RollbackRequested':
          return succeeded(releaseId, operationId, await this.rollback(event.data, history, signal));
        case 'UninstallRequested': {
          const d = event.data;
          await this.helm.uninstall(d.name, d.namespace, d.timeoutSeconds, signal);
          return { releaseId, operationId, outcome: 'SUCCEEDED' };
        }
      }
    } catch (error) {
      const helmError = error instanceof HelmError ? error : undefined;
      return {
        releaseId,
        operationId,
        outcome: 'FAILED',
        error: (error as Error).message.slice(0, 4_000),
        ...(helmError?.helmRevision ? { helmRevision: helmError.helmRevision } : {}),
        ...(helmError?.purged ? { purged: true } : {}),
      };
    }
  }

  /**
   * `helm rollback` when Helm still holds the target's revision with the same chart version and values:
   * Helm then restores the exact stored manifest. Otherwise (history pruned, atomic purge, reinstall) the
   * target's chart version and values are applied with an upgrade, after checking the chart's digest.
   * The platform's history is the source of truth, so a rollback never depends on Helm's memory. A target
   * made outside the service (imported, external) has no digest: Helm's stored manifest is the exact one.
   */
  private async rollback(d: RollbackRequested['data'], history: HelmHistoryEntry[] | undefined, signal?: AbortSignal): Promise<Partial<AppliedRelease> & { helmRevision: number }> {
    if (d.targetHelmRevision !== undefined) {
      // Helm's history as the preflight just read it: one `helm history` per operation.
      const entry = (history ?? (await this.helm.history(d.name, d.namespace))).find((h) => h.revision === d.targetHelmRevision);
      if (
        entry &&
        entry.chart === `${d.chart.name}-${d.chartVersion}` &&
        isDeepStrictEqual(await this.helm.values(d.name, d.namespace, d.targetHelmRevision), d.values)
      ) {
        const helmRevision = await this.helm.rollback(d.name, d.namespace, d.targetHelmRevision, d.timeoutSeconds, {
          ...(signal ? { signal } : {}),
          operationId: d.operationId,
          ...newest(history),
          ...(d.options ? { flags: d.options } : {}),
        });
        return { helmRevision, ...(d.chartDigest !== undefined ? { chartDigest: d.chartDigest } : {}) };
      }
    }
    return this.helm.apply(
      {
        name: d.name,
        namespace: d.namespace,
        chart: d.chart,
        chartVersion: d.chartVersion,
        values: d.values,
        timeoutSeconds: d.timeoutSeconds,
        operationId: d.operationId,
        ...newest(history),
        ...(d.chartDigest ? { expectedDigest: d.chartDigest } : {}),
        ...(d.options ? { options: d.options } : {}),
      },
      { atomic: false, ...(signal ? { signal } : {}) },
    );
  }
}

const succeeded = (releaseId: string, operationId: string, applied: Partial<AppliedRelease> & { helmRevision: number }): Outcome => ({
  releaseId,
  operationId,
  outcome: 'SUCCEEDED',
  helmRevision: applied.helmRevision,
  ...(applied.chartDigest !== undefined ? { chartDigest: applied.chartDigest } : {}),
});

/** Helm's newest revision as the preflight read it: a failed call above it made the failed revision. */
const newest = (history: HelmHistoryEntry[] | undefined): { helmRevisionBefore?: number } =>
  history?.length ? { helmRevisionBefore: Math.max(...history.map((h) => h.revision)) } : {};
