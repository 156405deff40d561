import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { OperationRequested, Values } from '@app/domain';
import { KubeApi, kubeAuth, operationMarker, ReleaseLease } from '@app/helm';
import { helmSuite, waitFor } from '@app/test-support';
import { OperationRunner } from './operation-runner';

// What the executor finds in Helm's own history before it runs, on the real helm binary and API server:
// its own earlier revision (fencing), and a lock another Helm client left behind.
describe('the executor reads Helm before running (real helm)', () => {
  const { helmBin, kubeconfig, namespace, configMap, suite } = helmSuite('preflight');
  const chart = () => ({ name: 'web', repository: suite.repo.url });
  const upgrade = (name: string, operationId: string, chartVersion: string, values: Values, deadlineInMs = 120_000): OperationRequested => ({
    type: 'UpgradeRequested',
    data: {
      releaseId: name, cluster: 'default', name, namespace, chart: chart(), chartVersion, values, revision: 2, atomic: false,
      operationId, requestedBy: 'tester', requestedAt: new Date().toISOString(), trigger: 'MANUAL',
      timeoutSeconds: 30, deadline: new Date(Date.now() + deadlineInMs).toISOString(),
    },
  });
  /** A person's `helm upgrade --install --wait`, by default of a chart that never becomes ready, as the helm CLI runs it. */
  const personUpgrade = (name: string, version = '1.3.0', flags = ['--timeout', '10m']): ChildProcess =>
    spawn(helmBin, ['upgrade', '--install', '--namespace', namespace, '--create-namespace', '--wait', ...flags, '--repo', suite.repo.url, '--version', version, '--', name, 'web'], {
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, HOME: suite.home, HELM_CACHE_HOME: join(suite.home, 'cli-cache'), HELM_CONFIG_HOME: join(suite.home, 'cli-config'), HELM_DATA_HOME: join(suite.home, 'cli-data') },
      stdio: 'ignore',
    });
  const pendingOf = async (name: string) => {
    const history = await suite.helm.history(name, namespace);
    return history.find((h) => h.status.startsWith('pending-'));
  };


  it('marks its revisions with the operation, and a redelivered operation reports that revision instead of running Helm again', async () => {
    const runner = new OperationRunner(suite.helm, { lockGraceMs: 300_000, pollMs: 200 });
    const name = 'fenced';
    await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: {}, timeoutSeconds: 60 }, { atomic: false });
    const event = upgrade(name, 'op-fenced-1', '1.1.0', { greeting: 'once' });
    const first = await runner.run(event);
    expect(first).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 2 });
    const history = await suite.helm.history(name, namespace);
    expect(history.find((h) => h.revision === 2)?.description).toBe(operationMarker('op-fenced-1'));
    // A second executor (a rebalance) or a redelivery gets the same event.
    const again = await runner.run(event);
    expect(again).toEqual({ releaseId: name, operationId: 'op-fenced-1', outcome: 'SUCCEEDED', helmRevision: 2 });
    expect((await suite.helm.history(name, namespace)).map((h) => h.revision)).toEqual([1, 2]);
    expect((await configMap(name)).data!.chartVersion).toBe('1.1.0');
  });

  it('marks a helm rollback with its operation too (in Helm storage, as helm rollback has no --description), so a redelivered rollback runs once', async () => {
    const runner = new OperationRunner(suite.helm, { lockGraceMs: 300_000, pollMs: 200 });
    const name = 'fenced-rollback';
    const first = await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: { greeting: 'one' }, timeoutSeconds: 60 }, { atomic: false });
    await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.1.0', values: { greeting: 'two' }, timeoutSeconds: 60 }, { atomic: false });
    const rollback: OperationRequested = {
      type: 'RollbackRequested',
      data: { ...upgrade(name, 'op-rollback-1', '1.0.0', { greeting: 'one' }).data, revision: 3, rollbackOf: 1, targetHelmRevision: 1, chartDigest: first.chartDigest, warnings: [] },
    } as OperationRequested;
    expect(await runner.run(rollback)).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 3 });
    const history = await suite.helm.history(name, namespace);
    expect(history.map((h) => [h.revision, h.status, h.description])).toEqual([
      [1, 'superseded', expect.any(String)],
      [2, 'superseded', expect.any(String)],
      [3, 'deployed', operationMarker('op-rollback-1')],
    ]);
    expect(await runner.run(rollback)).toEqual({ releaseId: name, operationId: 'op-rollback-1', outcome: 'SUCCEEDED', helmRevision: 3 });
    expect((await suite.helm.history(name, namespace)).map((h) => h.revision)).toEqual([1, 2, 3]);
    expect(await suite.helm.values(name, namespace, 3)).toEqual({ greeting: 'one' });
  });

  it('never installs over a Helm release the helm CLI made: refused as RELEASE_EXISTS_IN_CLUSTER, the release untouched', async () => {
    const name = 'outside';
    const cli = personUpgrade(name, '1.0.0', ['--set', 'greeting=mine', '--timeout', '60s']);
    await new Promise((resolve) => cli.once('exit', resolve));
    expect((await suite.helm.history(name, namespace)).map((h) => [h.revision, h.status])).toEqual([[1, 'deployed']]);
    const runner = new OperationRunner(suite.helm, { lockGraceMs: 300_000, pollMs: 200 });
    const install: OperationRequested = { ...upgrade(name, 'op-outside', '1.1.0', { greeting: 'ours' }), type: 'InstallRequested', data: { ...upgrade(name, 'op-outside', '1.1.0', { greeting: 'ours' }).data, revision: 1, autoRollback: false } } as OperationRequested;
    const outcome = await runner.run(install);
    expect(outcome).toMatchObject({ outcome: 'FAILED', notRun: true });
    expect(outcome.error).toMatch(new RegExp(`^RELEASE_EXISTS_IN_CLUSTER: Helm already holds ${namespace}/outside at revision 1 \\(web-1\\.0\\.0, deployed\\)`));
    expect((await suite.helm.history(name, namespace)).map((h) => h.revision)).toEqual([1]);
    expect(await suite.helm.values(name, namespace, 1)).toEqual({ greeting: 'mine' });

    // With adopt, the same install reads Helm's history for import instead, and still runs nothing.
    const adopted = await runner.run({ ...install, data: { ...install.data, adopt: true } } as OperationRequested);
    expect(adopted).toEqual({
      releaseId: name,
      operationId: 'op-outside',
      outcome: 'SUCCEEDED',
      imported: [{ helmRevision: 1, chartName: 'web', chartVersion: '1.0.0', values: { greeting: 'mine' }, helmStatus: 'deployed', description: 'Install complete', updatedAt: expect.any(String) }],
    });
    expect((await suite.helm.history(name, namespace)).map((h) => h.revision)).toEqual([1]);
  });

  it('two executors given the same operation at once (a rebalance): one runs Helm, the other waits for the lease and finds its revision', async () => {
    const name = 'twoexec';
    await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: {}, timeoutSeconds: 60, operationId: 'op-two-0' }, { atomic: false });
    const kube = new KubeApi(kubeAuth(kubeconfig));
    const executor = (holder: string) =>
      new OperationRunner(suite.helm, { lockGraceMs: 300_000, pollMs: 200 }, { lease: new ReleaseLease(kube, { namespace: 'default', holder, durationSeconds: 15 }), renewMs: 5_000, pollMs: 200 });
    const event = upgrade(name, 'op-two-1', '1.1.0', { greeting: 'once' });
    const outcomes = await Promise.all([executor('executor-a').run(event), executor('executor-b').run(event)]);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: 2 });
    // Helm ran once: one revision for the operation, carrying its marker.
    expect((await suite.helm.history(name, namespace)).map((h) => [h.revision, h.description])).toEqual([
      [1, operationMarker('op-two-0')],
      [2, operationMarker('op-two-1')],
    ]);
    const { body } = await kube.get<{ spec: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/default/leases/${namespace}.${name}`);
    expect(body?.spec.holderIdentity ?? '').toBe('');
  });

  it('a release lease whose holder stopped renewing it (killed) is free once its duration passed', async () => {
    const kube = new KubeApi(kubeAuth(kubeconfig));
    const killed = new ReleaseLease(kube, { namespace: 'default', holder: 'killed', durationSeconds: 1 });
    const next = new ReleaseLease(kube, { namespace: 'default', holder: 'next', durationSeconds: 15 });
    expect(await killed.acquire(namespace, 'leased')).toEqual({ held: true });
    expect(await next.acquire(namespace, 'leased')).toEqual({ held: false, holder: 'killed' });
    await waitFor(async () => (await next.acquire(namespace, 'leased')).held, { timeoutMs: 10_000, intervalMs: 250, what: 'the lease to expire' });
    expect(await killed.renew(namespace, 'leased')).toBe(false);
  });

  it('marks a revision its failed upgrade made, so it is never taken for one made outside', async () => {
    const name = 'markfail';
    await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: {}, timeoutSeconds: 60, operationId: 'op-mark-1' }, { atomic: false });
    // 1.3.0 never becomes ready: the upgrade fails on its timeout and Helm writes its error as the description.
    await expect(
      suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.3.0', values: {}, timeoutSeconds: 3, operationId: 'op-mark-2', helmRevisionBefore: 1 }, { atomic: false }),
    ).rejects.toMatchObject({ helmRevision: 2 });
    const failed = (await suite.helm.history(name, namespace)).find((h) => h.revision === 2)!;
    expect(failed.status).toBe('failed');
    expect(failed.description).toMatch(new RegExp(`^${operationMarker('op-mark-2')}: Upgrade "markfail" failed`));
  });

  describe('a Helm client killed mid-upgrade leaves its revision pending-upgrade', () => {
    const name = 'locked';
    let lockedRevision: number;

    beforeAll(async () => {
      await suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: { greeting: 'before' }, timeoutSeconds: 60 }, { atomic: false });
      const person = personUpgrade(name);
      const pending = await waitFor(() => pendingOf(name), { timeoutMs: 60_000, what: 'the person upgrade holds the lock' });
      person.kill('SIGKILL');
      await new Promise((resolve) => person.once('exit', resolve));
      lockedRevision = pending.revision;
    });

    it('waits for a young lock while the operation has time, then says who holds it, running nothing', async () => {
      const runner = new OperationRunner(suite.helm, { lockGraceMs: 300_000, pollMs: 200 });
      // Deadline = now + timeout + 2 s: two seconds to wait for the lock.
      const outcome = await runner.run(upgrade(name, 'op-young', '1.1.0', { greeting: 'mine' }, 32_000));
      expect(outcome).toMatchObject({ outcome: 'FAILED', notRun: true });
      expect(outcome.error).toMatch(new RegExp(`^HELM_LOCKED: Helm revision ${lockedRevision} of ${namespace}/${name} \\(web-1\\.3\\.0\\) is pending-upgrade: another Helm client is running an operation on it`));
      expect((await suite.helm.history(name, namespace)).map((h) => h.revision)).toEqual([1, lockedRevision]);
    });

    it('releases a lock older than the grace as Flux does (the stale revision marked failed in Helm, saying why), then runs and says what it released', async () => {
      // What helm itself says while the lock is there, had the executor run it blind.
      await expect(suite.helm.apply({ name, namespace, chart: chart(), chartVersion: '1.1.0', values: {}, timeoutSeconds: 10 }, { atomic: false })).rejects.toThrow(/another operation \(install\/upgrade\/rollback\) is in progress/);
      const runner = new OperationRunner(suite.helm, { lockGraceMs: 1, pollMs: 200 });
      const stale = upgrade(name, 'op-stale', '1.1.0', { greeting: 'mine' });
      const outcome = await runner.run({ ...stale, data: { ...stale.data, knownHelmRevision: 1 } } as OperationRequested);
      expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', helmRevision: lockedRevision + 1, lockReleased: { helmRevision: lockedRevision, status: 'pending-upgrade', chart: 'web-1.3.0' } });
      // The revision the killed client made is reported as made outside, for the history to record.
      expect(outcome.external).toEqual([
        expect.objectContaining({ helmRevision: lockedRevision, chartName: 'web', chartVersion: '1.3.0', helmStatus: 'failed', description: expect.stringMatching(/^Released from a stale pending-upgrade/) }),
      ]);
      const history = await suite.helm.history(name, namespace);
      expect(history.map((h) => [h.revision, h.status])).toEqual([
        [1, 'superseded'],
        [lockedRevision, 'failed'],
        [lockedRevision + 1, 'deployed'],
      ]);
      expect(history[1].description).toMatch(/^Released from a stale pending-upgrade by helm-rollback-service operation op-stale/);
      expect(history[2].description).toBe(operationMarker('op-stale'));
      expect((await configMap(name)).data!.chartVersion).toBe('1.1.0');
      expect(await suite.helm.values(name, namespace, lockedRevision + 1)).toEqual({ greeting: 'mine' });
    });
  });
});
