import type { OperationRequested, Values } from '@app/domain';
import { AppliedRelease, DesiredRelease, HelmError, HelmHistoryEntry, HelmPort } from '@app/helm';
import { OperationRunner } from './operation-runner';

// Glue logic only: which Helm calls the runner makes. The real helm binary is exercised in the int tier.
class RecordingHelm implements HelmPort {
  calls: string[] = [];
  history_: HelmHistoryEntry[] = [];
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
  async history(): Promise<HelmHistoryEntry[]> {
    return this.history_;
  }
  async values(_n: string, _ns: string, revision: number): Promise<Values> {
    return this.values_[revision] ?? {};
  }
}

const base = {
  releaseId: 'web', name: 'web', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' },
  operationId: 'op', requestedBy: 'a', requestedAt: '', trigger: 'MANUAL' as const, timeoutSeconds: 30, deadline: '', atomic: false,
};
const rollbackTo = (extra: object): OperationRequested => ({
  type: 'RollbackRequested',
  data: { ...base, revision: 3, chartVersion: '1.0.0', values: { a: 1 }, rollbackOf: 1, warnings: [], ...extra },
});

describe('OperationRunner', () => {
  it('uses helm rollback when Helm still holds the target revision with the same chart and values', async () => {
    const helm = new RecordingHelm();
    helm.history_ = [{ revision: 1, status: 'superseded', chart: 'web-1.0.0' }, { revision: 2, status: 'deployed', chart: 'web-1.1.0' }];
    helm.values_ = { 1: { a: 1 } };
    const outcome = await new OperationRunner(helm).run(rollbackTo({ targetHelmRevision: 1, chartDigest: 'sha256:old' }));
    expect(helm.calls).toEqual(['rollback 1']);
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
    const outcome = await new OperationRunner(helm).run(rollbackTo({ targetHelmRevision: 1, chartDigest: 'sha256:old' }));
    expect(helm.calls).toEqual(['apply 1.0.0 atomic=false digest=sha256:old']);
    expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 9 });
  });

  it('passes --atomic for atomic installs only, never for upgrades', async () => {
    const helm = new RecordingHelm();
    const runner = new OperationRunner(helm);
    await runner.run({ type: 'InstallRequested', data: { ...base, revision: 1, chartVersion: '1.0.0', values: {}, atomic: true, autoRollback: false } });
    await runner.run({ type: 'UpgradeRequested', data: { ...base, revision: 2, chartVersion: '1.1.0', values: {}, atomic: true } });
    expect(helm.calls).toEqual(['apply 1.0.0 atomic=true digest=-', 'apply 1.1.0 atomic=false digest=-']);
  });

  it('reports a Helm failure as a FAILED outcome with the message and the purge of an atomic install', async () => {
    const helm = new RecordingHelm();
    helm.failApply = new HelmError('helm upgrade failed: context deadline exceeded', undefined, true);
    const outcome = await new OperationRunner(helm).run({ type: 'InstallRequested', data: { ...base, revision: 1, chartVersion: '1.0.0', values: {}, atomic: true, autoRollback: false } });
    expect(outcome).toEqual({ releaseId: 'web', operationId: 'op', outcome: 'FAILED', error: 'helm upgrade failed: context deadline exceeded', purged: true });
  });
});
