import type { OperationRequested, Values } from '@app/domain';
import { AppliedRelease, DesiredRelease, HelmError, HelmHistoryEntry, HelmPort, operationMarker } from '@app/helm';
import { OperationRunner } from './operation-runner';

// Glue logic only: which Helm calls the runner makes. The real helm binary is exercised in the int tier.
class RecordingHelm implements HelmPort {
  calls: string[] = [];
  history_: HelmHistoryEntry[] = [];
  /** Histories to answer first, one per call, before history_ (a lock that goes away, say). */
  histories: HelmHistoryEntry[][] = [];
  values_: Record<number, Values> = {};
  failApply?: HelmError;
  async apply(desired: DesiredRelease, { atomic }: { atomic: boolean }): Promise<AppliedRelease> {
    this.calls.push(`apply ${desired.chartVersion} atomic=${atomic} digest=${desired.expectedDigest ?? '-'}`);
    if (this.failApply) throw this.failApply;
    return { helmRevision: 9, chartDigest: 'sha256:new' };
  }
  async rollback(_n: string, _ns: string, helmRevision: number): Promise<number> {
    this.calls.push(`rollback ${helmRevision}`);
    return 10;
  }
  async uninstall(): Promise<void> {
    this.calls.push('uninstall');
  }
  /** What `helm test` answers; an Error: it could not run. */
  testRun: { passed: boolean; output: string } | Error = { passed: true, output: 'Phase: Succeeded' };
  async test(): Promise<{ passed: boolean; output: string }> {
    this.calls.push('test');
    if (this.testRun instanceof Error) throw this.testRun;
    return this.testRun;
  }
  async list(): Promise<[]> {
    return [];
  }
  async manifest(): Promise<string> {
    return '';
  }
  async template(): Promise<string> {
    return '';
  }

  async history(): Promise<HelmHistoryEntry[]> {
    this.calls.push('history');
    return this.histories.shift() ?? this.history_;
  }
  /** Whether Helm's storage lets the stale revision be released (it may have changed meanwhile). */
  releasable = true;
  async releaseLock(_n: string, _ns: string, revision: number, staleStatus: string): Promise<boolean> {
    this.calls.push(`release ${revision} ${staleStatus}`);
    if (!this.releasable) return false;
    this.history_ = this.history_.map((h) => (h.revision === revision ? { ...h, status: 'failed' } : h));
    return true;
  }
  async values(_n: string, _ns: string, revision: number): Promise<Values> {
    return this.values_[revision] ?? {};
  }
  async metadata(_n: string, _ns: string, revision: number): Promise<{ chart: string; version: string }> {
    const chart = this.history_.find((h) => h.revision === revision)?.chart ?? 'web-0.0.0';
    return { chart: chart.slice(0, chart.lastIndexOf('-')), version: chart.slice(chart.lastIndexOf('-') + 1) };
  }
}

const base = {
  releaseId: 'web', cluster: 'default', name: 'web', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' },
  operationId: 'op', requestedBy: 'a', requestedAt: '', trigger: 'MANUAL' as const, timeoutSeconds: 30, deadline: '', atomic: false,
};
const OPTIONS = { lockGraceMs: 300_000, pollMs: 1 };
const rollbackTo = (extra: object): OperationRequested => ({
  type: 'RollbackRequested',
  data: { ...base, revision: 3, chartVersion: '1.0.0', values: { a: 1 }, rollbackOf: 1, warnings: [], ...extra },
});

describe('OperationRunner', () => {
  it('uses helm rollback when Helm still holds the target revision with the same chart and values', async () => {
    const helm = new RecordingHelm();
    helm.history_ = [{ revision: 1, status: 'superseded', chart: 'web-1.0.0' }, { revision: 2, status: 'deployed', chart: 'web-1.1.0' }];
    helm.values_ = { 1: { a: 1 } };
    const outcome = await new OperationRunner(helm, OPTIONS).run(rollbackTo({ targetHelmRevision: 1, chartDigest: 'sha256:old' }));
    expect(helm.calls).toEqual(['history', 'rollback 1']);
    expect(outcome).toEqual({ releaseId: 'web', operationId: 'op', outcome: 'SUCCEEDED', helmRevision: 10, chartDigest: 'sha256:old' });
  });

  it.each([
    ['Helm forgot the revision', [], {}],
    ['Helm has other values at that revision', [{ revision: 1, status: 'superseded', chart: 'web-1.0.0' }], { 1: { a: 2 } }],
    ['Helm has another chart version at that revision', [{ revision: 1, status: 'superseded', chart: 'web-0.9.0' }], { 1: { a: 1 } }],
  ])('applies the target with an upgrade, checking the digest, when %s', async (_why, history, values) => {
    const helm = new RecordingHelm();
    helm.history_ = history as HelmHistoryEntry[];
    helm.values_ = values as Record<number, Values>;
    const outcome = await new OperationRunner(helm, OPTIONS).run(rollbackTo({ targetHelmRevision: 1, chartDigest: 'sha256:old' }));
    expect(helm.calls.filter((c) => c !== 'history')).toEqual(['apply 1.0.0 atomic=false digest=sha256:old']);
    expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 9 });
  });

  it('passes --atomic for atomic installs only, never for upgrades', async () => {
    const helm = new RecordingHelm();
    const runner = new OperationRunner(helm, OPTIONS);
    await runner.run({ type: 'InstallRequested', data: { ...base, revision: 1, chartVersion: '1.0.0', values: {}, atomic: true, autoRollback: false } });
    await runner.run({ type: 'UpgradeRequested', data: { ...base, revision: 2, chartVersion: '1.1.0', values: {}, atomic: true } });
    expect(helm.calls.filter((c) => c !== 'history')).toEqual(['apply 1.0.0 atomic=true digest=-', 'apply 1.1.0 atomic=false digest=-']);
  });

  it('reports a Helm failure as a FAILED outcome with the message and the purge of an atomic install', async () => {
    const helm = new RecordingHelm();
    helm.failApply = new HelmError('helm upgrade failed: context deadline exceeded', undefined, true);
    const outcome = await new OperationRunner(helm, OPTIONS).run({ type: 'InstallRequested', data: { ...base, revision: 1, chartVersion: '1.0.0', values: {}, atomic: true, autoRollback: false } });
    expect(outcome).toEqual({ releaseId: 'web', operationId: 'op', outcome: 'FAILED', error: 'helm upgrade failed: context deadline exceeded', purged: true });
  });

  describe('verification: helm test after a success, as the release policy says', () => {
    const tested = (test: object): OperationRequested => ({ type: 'UpgradeRequested', data: { ...base, revision: 2, chartVersion: '1.1.0', values: {}, test: { enable: true, ...test } } });

    it('records passing tests; failing tests fail the revision with TESTS_FAILED and the output, keeping its Helm revision', async () => {
      const helm = new RecordingHelm();
      expect(await new OperationRunner(helm, OPTIONS).run(tested({}))).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 9, tests: { result: 'PASSED' } });
      expect(helm.calls.filter((c) => c !== 'history')).toEqual(['apply 1.1.0 atomic=false digest=-', 'test']);
      helm.testRun = { passed: false, output: 'helm test failed: pod web-test failed' };
      expect(await new OperationRunner(helm, OPTIONS).run(tested({}))).toEqual({
        releaseId: 'web', operationId: 'op', outcome: 'FAILED', helmRevision: 9, chartDigest: 'sha256:new', tests: { result: 'FAILED' }, error: 'TESTS_FAILED: helm test failed: pod web-test failed',
      });
    });

    it('keeps the success when the policy ignores failures, and fails when the tests could not run at all', async () => {
      const helm = new RecordingHelm();
      helm.testRun = { passed: false, output: 'pod web-test failed' };
      expect(await new OperationRunner(helm, OPTIONS).run(tested({ ignoreFailures: true }))).toMatchObject({ outcome: 'SUCCEEDED', tests: { result: 'FAILED', ignored: true }, error: 'TESTS_FAILED: pod web-test failed' });
      helm.testRun = new Error('aborted (executor shutting down)');
      expect(await new OperationRunner(helm, OPTIONS).run(tested({ ignoreFailures: true }))).toMatchObject({ outcome: 'FAILED', error: expect.stringMatching(/^TESTS_NOT_RUN: aborted/) });
    });

    it('tests a redelivered operation found done in Helm, and runs no test without a policy or after a failure', async () => {
      const helm = new RecordingHelm();
      helm.history_ = [{ revision: 2, status: 'deployed', chart: 'web-1.1.0', description: operationMarker('op') }];
      expect(await new OperationRunner(helm, OPTIONS).run(tested({}))).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 2, tests: { result: 'PASSED' } });
      expect(helm.calls).toEqual(['history', 'test']);
      const quiet = new RecordingHelm();
      await new OperationRunner(quiet, OPTIONS).run({ type: 'UpgradeRequested', data: { ...base, revision: 2, chartVersion: '1.1.0', values: {} } });
      quiet.failApply = new HelmError('helm upgrade failed');
      await new OperationRunner(quiet, OPTIONS).run(tested({}));
      expect(quiet.calls).not.toContain('test');
    });
  });

  describe('before running, what Helm already holds', () => {
    const upgrade: OperationRequested = { type: 'UpgradeRequested', data: { ...base, revision: 2, chartVersion: '1.1.0', values: {}, deadline: new Date(Date.now() + 120_000).toISOString() } };
    const at = (ms: number) => new Date(Date.now() - ms).toISOString();

    it('reports the revision an operation already made instead of running Helm again', async () => {
      const helm = new RecordingHelm();
      helm.history_ = [{ revision: 1, status: 'superseded', chart: 'web-1.0.0' }, { revision: 2, status: 'deployed', chart: 'web-1.1.0', description: operationMarker('op') }];
      const outcome = await new OperationRunner(helm, OPTIONS).run(upgrade);
      expect(helm.calls).toEqual(['history']);
      expect(outcome).toEqual({ releaseId: 'web', operationId: 'op', outcome: 'SUCCEEDED', helmRevision: 2 });
    });

    it('releases a stale Helm lock, then runs, and says what it released', async () => {
      const helm = new RecordingHelm();
      helm.history_ = [{ revision: 1, status: 'deployed', chart: 'web-1.0.0' }, { revision: 2, status: 'pending-upgrade', chart: 'web-1.3.0', updated: at(600_000) }];
      const outcome = await new OperationRunner(helm, OPTIONS).run(upgrade);
      expect(helm.calls).toEqual(['history', 'release 2 pending-upgrade', 'history', 'apply 1.1.0 atomic=false digest=-']);
      expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 9, lockReleased: { helmRevision: 2, status: 'pending-upgrade', chart: 'web-1.3.0', ageSeconds: 600 } });
    });

    it('refuses a stale Helm lock that could not be released (it changed meanwhile), running nothing', async () => {
      const helm = new RecordingHelm();
      helm.releasable = false;
      helm.history_ = [{ revision: 1, status: 'deployed', chart: 'web-1.0.0' }, { revision: 2, status: 'pending-upgrade', chart: 'web-1.3.0', updated: at(600_000) }];
      const outcome = await new OperationRunner(helm, OPTIONS).run(upgrade);
      expect(helm.calls).toEqual(['history', 'release 2 pending-upgrade']);
      expect(outcome).toMatchObject({ outcome: 'FAILED', notRun: true, error: expect.stringMatching(/^HELM_LOCKED: Helm revision 2 of apps\/web \(web-1\.3\.0\) is pending-upgrade since .*longer than the lock grace of 300s, and could not be released/) });
    });

    it('refuses a first install onto a Helm release someone else made, and runs the install of a release it uninstalled before', async () => {
      const helm = new RecordingHelm();
      helm.history_ = [{ revision: 4, status: 'deployed', chart: 'web-1.2.0' }];
      const first: OperationRequested = { type: 'InstallRequested', data: { ...upgrade.data, revision: 1, autoRollback: false } } as OperationRequested;
      expect(await new OperationRunner(helm, OPTIONS).run(first)).toMatchObject({ outcome: 'FAILED', notRun: true, error: expect.stringMatching(/^RELEASE_EXISTS_IN_CLUSTER: Helm already holds apps\/web at revision 4 \(web-1\.2\.0, deployed\)/) });
      expect(helm.calls).toEqual(['history']);
      helm.history_ = [{ revision: 1, status: 'uninstalled', chart: 'web-1.0.0' }];
      // Its history knows Helm revision 1: the release is its own.
      const reinstall = { ...first, data: { ...first.data, revision: 3, knownHelmRevision: 1 } } as OperationRequested;
      expect(await new OperationRunner(helm, OPTIONS).run(reinstall)).toMatchObject({ outcome: 'SUCCEEDED' });
    });

    it('waits for a young lock to go, then runs', async () => {
      const helm = new RecordingHelm();
      const pending = [{ revision: 1, status: 'deployed', chart: 'web-1.0.0' }, { revision: 2, status: 'pending-upgrade', chart: 'web-1.3.0', updated: at(1_000) }];
      helm.histories = [pending, pending];
      helm.history_ = [{ revision: 1, status: 'deployed', chart: 'web-1.0.0' }, { revision: 2, status: 'deployed', chart: 'web-1.3.0' }];
      const outcome = await new OperationRunner(helm, OPTIONS).run(upgrade);
      expect(helm.calls).toEqual(['history', 'history', 'history', 'apply 1.1.0 atomic=false digest=-']);
      expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 9 });
    });

    it('gives up on a young lock that outlasts the time the operation has left', async () => {
      const helm = new RecordingHelm();
      helm.history_ = [{ revision: 1, status: 'pending-install', chart: 'web-1.0.0', updated: at(1_000) }];
      const outcome = await new OperationRunner(helm, OPTIONS).run({ ...upgrade, data: { ...upgrade.data, deadline: new Date(Date.now() + 30_500).toISOString() } } as OperationRequested);
      expect(helm.calls.every((c) => c === 'history')).toBe(true);
      expect(outcome).toMatchObject({ outcome: 'FAILED', notRun: true, error: expect.stringMatching(/another Helm client is running an operation on it/) });
    });
  });
});
