import { Topics } from '@app/contracts';
import { ChartRepo, kubeGet, request, Stack, startChartRepo, startStack, testCluster, testConfig, waitFor } from '@app/test-support';

// Post-deploy verification and Helm's operation flags, end to end on the realistic local cluster: the
// kube-apiserver with its controllers and kwok's simulated node, so Deployments roll out, Jobs and test
// pods complete, and `helm test` runs for real. Charts: 1.5.0 rolls out and its test passes, 1.7.0's test
// fails, 1.8.0 has pre-upgrade and pre-rollback hook Jobs, 1.3.0 never gets Ready.
const OPERATOR = 'operator-token-0123456789';

describe('verification and operation options on a cluster with nodes (e2e)', () => {
  const { kubeconfig, helmBin, namespace } = testCluster('verify');
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'executor' | 'remediation' | 'api', 'events'>;

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token: OPERATOR });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const release = async (id: string) => (await http('GET', `/releases/${id}`)).body;
  const history = async (id: string) => (await http('GET', `/releases/${id}/history`)).body.revisions as Array<Record<string, unknown>>;
  const settled = (id: string, revision?: number) =>
    waitFor(async () => {
      const r = await release(id);
      return r && !String(r.status).startsWith('PENDING') && (revision === undefined || r.currentRevision >= revision) ? r : null;
    }, { timeoutMs: 120_000, intervalMs: 300, what: `${id} to settle${revision ? ` at revision ${revision}` : ''}` });
  const install = (releaseId: string, chartVersion: string, extra: Record<string, unknown> = {}) =>
    http('POST', '/releases', { releaseId, namespace, chart: { name: 'web', repository: repo.url }, chartVersion, values: { greeting: releaseId }, timeoutSeconds: 60, ...extra });
  const exists = async (kind: 'deployments' | 'jobs', name: string) =>
    (await kubeGet(kubeconfig, `/apis/${kind === 'jobs' ? 'batch' : 'apps'}/v1/namespaces/${namespace}/${kind}/${name}`)).status === 200;

  beforeAll(async () => {
    repo = await startChartRepo(helmBin);
    stack = await startStack(testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR}`, REQUEST_TIMEOUT_MS: '20000' }), {
      apps: { releaseService: 'release-service', executor: 'executor', remediation: 'remediation', api: 'api' },
      env: { HELM_BIN: helmBin, KUBECONFIG: kubeconfig, HELM_INVENTORY_INTERVAL_SECONDS: '0', DRIFT_CHECK_INTERVAL_SECONDS: '0' },
      record: { events: [Topics.events] },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await repo?.stop();
  });

  it('helm test gates an upgrade: passing -> DEPLOYED, failing -> FAILED TESTS_FAILED, then rolled back under autoRollback', async () => {
    const id = 'gated';
    const test = { enable: true, timeoutSeconds: 60 };
    expect((await install(id, '1.5.0', { test, autoRollback: true })).status).toBe(202);
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', test });
    // Rolled out for real on the simulated node, not only applied.
    expect((await kubeGet(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments/${id}-web`)).body.status).toMatchObject({ readyReplicas: 2 });

    expect((await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.7.0' })).status).toBe(202);
    // The failed tests, then remediation's rollback to revision 1 (whose tests pass again).
    const after = await settled(id, 3);
    expect(after).toMatchObject({ status: 'DEPLOYED', currentRevision: 3, lastSuccessfulRevision: 3 });
    const revisions = await history(id);
    expect(revisions.map((r) => [r.revision, r.operation, r.chartVersion, r.status, r.trigger, (r.tests as { result?: string } | null)?.result ?? null])).toEqual([
      [1, 'INSTALL', '1.5.0', 'DEPLOYED', 'MANUAL', 'PASSED'],
      [2, 'UPGRADE', '1.7.0', 'FAILED', 'MANUAL', 'FAILED'],
      [3, 'ROLLBACK', '1.5.0', 'DEPLOYED', 'AUTOMATIC', 'PASSED'],
    ]);
    expect(revisions[2]).toMatchObject({ rollbackOf: 1, causedByRevision: 2 });
    // Helm's own words on which test failed; the upgrade itself did reach Helm (revision 2 there).
    expect(revisions[1]).toMatchObject({ error: expect.stringMatching(/^TESTS_FAILED: .*gated-test/s), helmRevision: 2 });
  });

  it('ignoreFailures keeps the revision DEPLOYED with a warning, and last-successful skips it', async () => {
    const id = 'lenient';
    await install(id, '1.5.0', { test: { enable: true, timeoutSeconds: 60, ignoreFailures: true } });
    await settled(id);
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.7.0' });
    expect(await settled(id, 2)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2, lastSuccessfulRevision: 1 });
    const [, upgraded] = await history(id);
    expect(upgraded).toMatchObject({
      status: 'DEPLOYED',
      tests: { result: 'FAILED', ignored: true },
      error: expect.stringMatching(/^TESTS_FAILED/),
      warnings: [expect.stringMatching(/helm test failed; the revision stays DEPLOYED/)],
    });
    const plan = await http('POST', `/releases/${id}/rollback/last-successful?dryRun=true`, {});
    expect(plan).toMatchObject({ status: 200, body: { targetRevision: 1, chartVersion: { from: '1.7.0', to: '1.5.0' } } });
  });

  it('noHooks on a rollback skips the pre-rollback hook Job, is recorded, and is applied again on a rollback to that revision', async () => {
    const id = 'hooked';
    await install(id, '1.8.0');
    await settled(id);
    // An upgrade runs the chart's pre-upgrade hook Job, to completion, before it applies the rest.
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.8.0', values: { greeting: 'hooks' } });
    expect(await settled(id, 2)).toMatchObject({ status: 'DEPLOYED' });
    expect(await kubeGet(kubeconfig, `/apis/batch/v1/namespaces/${namespace}/jobs/${id}-pre-upgrade`)).toMatchObject({ status: 200, body: { status: { succeeded: 1 } } });
    expect((await http('POST', `/releases/${id}/rollback`, { targetRevision: 1, options: { noHooks: true } })).status).toBe(202);
    expect(await settled(id, 3)).toMatchObject({ status: 'DEPLOYED' });
    expect(await exists('jobs', `${id}-pre-rollback`)).toBe(false);
    expect((await history(id))[2]).toMatchObject({ operation: 'ROLLBACK', options: { noHooks: true } });

    // A rollback to revision 3 runs with its flags again: still no hook.
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.5.0', values: { greeting: 'again' } });
    await settled(id, 4);
    await http('POST', `/releases/${id}/rollback`, { targetRevision: 3 });
    expect(await settled(id, 5)).toMatchObject({ status: 'DEPLOYED' });
    expect((await history(id))[4]).toMatchObject({ rollbackOf: 3, options: { noHooks: true } });
    expect(await exists('jobs', `${id}-pre-rollback`)).toBe(false);

    // Revision 1 was installed without flags: a rollback to it runs the hook, and the Job completed.
    await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 });
    expect(await settled(id, 6)).toMatchObject({ status: 'DEPLOYED' });
    expect((await history(id))[5]).toMatchObject({ options: {} });
    const job = await kubeGet(kubeconfig, `/apis/batch/v1/namespaces/${namespace}/jobs/${id}-pre-rollback`);
    expect(job).toMatchObject({ status: 200, body: { status: { succeeded: 1 } } });
  });

  it('cleanupOnFail removes what a failed upgrade created; without it the resources stay', async () => {
    // Two releases at once, so the suite waits for one timeout, not two.
    const ids = ['tidy', 'untidy'];
    await Promise.all(ids.map((id) => install(id, '1.5.0')));
    await Promise.all(ids.map((id) => settled(id)));
    await Promise.all(
      ids.map((id) => http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.3.0', timeoutSeconds: 10, ...(id === 'tidy' ? { options: { cleanupOnFail: true } } : {}) })),
    );
    for (const id of ids) expect(await settled(id, 2)).toMatchObject({ status: 'FAILED', currentRevision: 2 });
    expect((await history('tidy'))[1]).toMatchObject({ options: { cleanupOnFail: true } });
    // 1.3.0's never-ready Deployment is new in the upgrade: removed with cleanupOnFail, kept without it.
    expect(await exists('deployments', 'tidy-never-ready')).toBe(false);
    expect(await exists('deployments', 'untidy-never-ready')).toBe(true);
    // Helm only says it timed out; the error also carries Kubernetes' reason.
    expect((await history('untidy'))[1].error).toMatch(/not ready: Deployment untidy-never-ready \(0\/1 ready\): Available MinimumReplicasUnavailable/);
  });

  it('a slow rollout fails a timeout shorter than it and passes a longer one; waitForJobs also waits for the chart\'s Job', async () => {
    // Two releases at once: the suite waits for the slower alone.
    await Promise.all([install('hasty', '1.9.0', { timeoutSeconds: 1 }), install('patient', '1.9.0', { timeoutSeconds: 60, options: { waitForJobs: true } })]);
    expect(await settled('hasty', 1)).toMatchObject({ status: 'FAILED', lastError: expect.stringMatching(/not ready: Deployment hasty-web \(0\/2 ready\)/) });
    expect(await settled('patient', 1)).toMatchObject({ status: 'DEPLOYED' });
    // Helm returned only once the Job was done, not when the pods were Ready.
    expect(await kubeGet(kubeconfig, `/apis/batch/v1/namespaces/${namespace}/jobs/patient-migrate`)).toMatchObject({ status: 200, body: { status: { succeeded: 1 } } });
    expect((await history('patient'))[0]).toMatchObject({ options: { waitForJobs: true }, timeoutSeconds: 60 });
    // Try again, with more time: the same chart version, values and flags as a new revision.
    expect((await http('POST', '/releases/hasty/retry', { timeoutSeconds: 60, reason: 'give it time' })).status).toBe(202);
    expect(await settled('hasty', 2)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
    expect((await history('hasty'))[1]).toMatchObject({ operation: 'INSTALL', chartVersion: '1.9.0', trigger: 'MANUAL', timeoutSeconds: 60, reason: 'give it time' });
  });

  it('a crashing upgrade fails with CrashLoopBackOff in its error and is rolled back under autoRollback', async () => {
    const id = 'crashy';
    await install(id, '1.5.0', { autoRollback: true });
    await settled(id);
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.6.0', timeoutSeconds: 10 });
    expect(await settled(id, 3)).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });
    const revisions = await history(id);
    expect(revisions.map((r) => [r.operation, r.chartVersion, r.status, r.trigger])).toEqual([
      ['INSTALL', '1.5.0', 'DEPLOYED', 'MANUAL'],
      ['UPGRADE', '1.6.0', 'FAILED', 'MANUAL'],
      ['ROLLBACK', '1.5.0', 'DEPLOYED', 'AUTOMATIC'],
    ]);
    expect(revisions[1].error).toMatch(/not ready: Deployment crashy-web .*CrashLoopBackOff/);
    expect((await kubeGet(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments/${id}-web`)).body).toMatchObject({ spec: { template: { spec: { containers: [{ image: 'registry.invalid/web:1.5.0' }] } } }, status: { readyReplicas: 2 } });
  });

  it('retries a failed upgrade twice, spaced by the backoff the watchdog keeps, then rolls back: exactly 2 + 1 revisions', async () => {
    const id = 'persistent';
    const backoff = { initialSeconds: 2, factor: 2, maxSeconds: 10 };
    await install(id, '1.5.0', { test: { enable: true, timeoutSeconds: 60 }, remediation: { retries: 2, strategy: 'rollback', backoff } });
    await settled(id);
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.7.0' });
    expect(await settled(id, 5)).toMatchObject({ status: 'DEPLOYED', currentRevision: 5, lastSuccessfulRevision: 5, scheduledRetry: null });
    const revisions = await history(id);
    expect(revisions.map((r) => [r.revision, r.operation, r.chartVersion, r.status, r.trigger, r.causedByRevision, r.attempt, r.helmRevision])).toEqual([
      [1, 'INSTALL', '1.5.0', 'DEPLOYED', 'MANUAL', null, null, 1],
      [2, 'UPGRADE', '1.7.0', 'FAILED', 'MANUAL', null, null, 2],
      [3, 'UPGRADE', '1.7.0', 'FAILED', 'AUTOMATIC', 2, 1, 3],
      [4, 'UPGRADE', '1.7.0', 'FAILED', 'AUTOMATIC', 3, 2, 4],
      [5, 'ROLLBACK', '1.5.0', 'DEPLOYED', 'AUTOMATIC', 4, null, 5],
    ]);
    // Each retry waited its backoff after the failure before it: 2 s, then 4 s.
    const gap = (after: number, before: number) => Date.parse(String(revisions[after].requestedAt)) - Date.parse(String(revisions[before].completedAt));
    expect(gap(2, 1)).toBeGreaterThanOrEqual(2_000);
    expect(gap(3, 2)).toBeGreaterThanOrEqual(4_000);
  });

  it('strategy uninstall leaves the release UNINSTALLED with its history, and nothing of it in the cluster', async () => {
    const id = 'dropped';
    await install(id, '1.5.0', { test: { enable: true, timeoutSeconds: 60 }, remediation: { retries: 0, strategy: 'uninstall' } });
    await settled(id);
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.7.0' });
    await waitFor(async () => (await release(id))?.status === 'UNINSTALLED', { timeoutMs: 120_000, intervalMs: 300, what: `${id} uninstalled by remediation` });
    expect((await history(id)).map((r) => [r.revision, r.status])).toEqual([[1, 'DEPLOYED'], [2, 'FAILED']]);
    const events = ((await http('GET', `/releases/${id}/events`)).body.commits as Array<{ events: Array<{ type: string; data: Record<string, unknown> }> }>).flatMap((c) => c.events);
    expect(events.find((e) => e.type === 'UninstallRequested')?.data).toMatchObject({ trigger: 'AUTOMATIC', causedByRevision: 2, requestedBy: 'system:remediation' });
    expect(await exists('deployments', `${id}-web`)).toBe(false);
  });

  it('the executor is ready only as long as helm runs and its cluster answers, and says so', async () => {
    const ready = await request(stack.apps.executor, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text).info).toMatchObject({ kafka: { status: 'up' }, helm: { status: 'up' }, 'cluster:default': { status: 'up' } });
  });
});
