import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { Topics } from '@app/contracts';
import { ChartRepo, childCommands, kubeGet, openGate, remediationCaughtUp, request, RunningApp, Stack, startChartRepo, startStack, testCluster, testConfig, waitFor } from '@app/test-support';

const run = promisify(execFile);
const OPERATOR = 'operator-token-0123456789';

// Two executors in one consumer group on real Kafka, helm and kube-apiserver. An executor is frozen
// (SIGSTOP) in the middle of a Helm call, as a long GC pause or a stalled node would: its group membership
// and its release lease lapse while its helm process goes on. The upgrade's chart (web-1.4.0) waits for a
// LoadBalancer address, which the test writes when it wants the upgrade to finish.
describe('fencing: one Helm run per operation across executors, and a success after the deadline (e2e)', () => {
  const { helmBin, kubeconfig, namespace } = testCluster('fence');
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'executor' | 'secondExecutor' | 'remediation' | 'api', 'events' | 'results'>;
  const frozen = new Set<RunningApp>();

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token: OPERATOR });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const release = async (id: string) => (await http('GET', `/releases/${id}`)).body;
  const history = async (id: string) => (await http('GET', `/releases/${id}/history`)).body.revisions as Array<Record<string, unknown>>;
  const eventsOf = async (id: string) =>
    ((await http('GET', `/releases/${id}/events`)).body.commits as Array<{ events: Array<{ type: string; data: Record<string, unknown> }> }>).flatMap((c) => c.events);
  const settled = (id: string, timeoutMs = 90_000) =>
    waitFor(async () => {
      const r = await release(id);
      return r && !String(r.status).startsWith('PENDING') ? r : null;
    }, { timeoutMs, intervalMs: 300, what: `${id} to settle` });
  const helmHistory = async (id: string) =>
    JSON.parse((await run(helmBin, ['history', id, '-n', namespace, '-o', 'json'], { env: { ...process.env, KUBECONFIG: kubeconfig } })).stdout) as Array<{ revision: number; status: string; description: string }>;
  const executors = () => [stack.apps.executor, stack.apps.secondExecutor];
  /** The executor whose helm process is running the upgrade of `id`. */
  const runnerOf = (id: string) =>
    waitFor(async () => {
      for (const app of executors()) {
        if ((await childCommands(app.process.pid!)).some((c) => c.includes(' upgrade ') && c.includes(` ${id} `))) return app;
      }
      return null;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `an executor running helm upgrade of ${id}` });
  const freeze = (app: RunningApp) => {
    app.process.kill('SIGSTOP');
    frozen.add(app);
  };
  const thaw = (app: RunningApp) => {
    app.process.kill('SIGCONT');
    frozen.delete(app);
  };
  const leaseHolder = async (id: string) =>
    ((await kubeGet(kubeconfig, `/apis/coordination.k8s.io/v1/namespaces/default/leases/${namespace}.${id}`)).body.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  const installAndSettle = async (releaseId: string, extra: Record<string, unknown> = {}) => {
    const res = await http('POST', '/releases', { releaseId, namespace, chart: { name: 'web', repository: repo.url }, chartVersion: '1.0.0', values: { greeting: 'v1' }, timeoutSeconds: 30, ...extra });
    expect(res.status).toBe(202);
    expect(await settled(releaseId)).toMatchObject({ status: 'DEPLOYED', currentRevision: 1 });
  };
  const outcomeAnswers = (operationId: string) => stack.recorded.results.filter((r) => (r.json() as { data: { commandId: string } }).data.commandId === `outcome:${operationId}`);

  beforeAll(async () => {
    const config = testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR}`, REQUEST_TIMEOUT_MS: '20000' });
    repo = await startChartRepo(helmBin);
    stack = await startStack(config, {
      apps: { releaseService: 'release-service', executor: 'executor', secondExecutor: 'executor', remediation: 'remediation', api: 'api' },
      // The shortest session Kafka allows, so a frozen executor leaves the group soon.
      env: { HELM_BIN: helmBin, KUBECONFIG: kubeconfig, KAFKA_SESSION_TIMEOUT_MS: '6000', DRIFT_CHECK_INTERVAL_SECONDS: '0' },
      record: { events: [Topics.events], results: [Topics.commandResults] },
    });
  });

  afterAll(async () => {
    for (const app of frozen) thaw(app);
    await stack?.stop();
    await repo?.stop();
  });

  it('an executor frozen mid-upgrade loses its partition and lease; the other finds the revision it made: Helm ran once, one outcome recorded', async () => {
    const id = 'fenced';
    await installAndSettle(id);
    const upgrade = await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.4.0', timeoutSeconds: 120 });
    expect(upgrade.status).toBe(202);
    const operationId = upgrade.body.operationId as string;

    const runner = await runnerOf(id);
    const standby = executors().find((app) => app !== runner)!;
    await waitFor(async () => (await helmHistory(id)).some((h) => h.revision === 2 && h.status === 'pending-upgrade'), { timeoutMs: 30_000, what: 'Helm revision 2 pending' });
    freeze(runner);

    // Kafka hands the partition to the other executor, which waits for the frozen one's lease to lapse and takes it.
    await waitFor(async () => (await leaseHolder(id)) === `${hostname()}:${standby.process.pid}`, { timeoutMs: 60_000, intervalMs: 500, what: 'the standby executor to take the lease' });
    // The frozen executor's helm process still runs: Helm's revision 2 is still pending, so the standby waits.
    expect((await helmHistory(id)).map((h) => [h.revision, h.status])).toEqual([
      [1, 'deployed'],
      [2, 'pending-upgrade'],
    ]);

    await openGate(kubeconfig, namespace, `${id}-gate`);
    const done = await settled(id, 60_000);
    expect(done).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
    expect(outcomeAnswers(operationId)).toHaveLength(1);

    // The frozen executor wakes, finishes its own call and reports it too: a duplicate, decided once.
    thaw(runner);
    await waitFor(() => outcomeAnswers(operationId).length === 2, { timeoutMs: 60_000, what: "the woken executor's outcome answered" });
    const helm = await helmHistory(id);
    expect(helm.map((h) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'deployed'],
    ]);
    expect(helm[1].description).toBe(`helm-rollback-service operation ${operationId}`);
    expect((await history(id)).map((r) => [r.revision, r.operation, r.status, r.helmRevision])).toEqual([
      [1, 'INSTALL', 'DEPLOYED', 1],
      [2, 'UPGRADE', 'DEPLOYED', 2],
    ]);
    expect((await eventsOf(id)).filter((e) => e.data.revision === 2).map((e) => e.type)).toEqual(['UpgradeRequested', 'RevisionDeployed']);
  }, 240_000);

  it('a success reported after the watchdog failed the upgrade as timed out is recorded as deployed late, and nothing rolls it back', async () => {
    const id = 'late';
    await installAndSettle(id, { autoRollback: true });
    const upgrade = await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.4.0', timeoutSeconds: 20 });
    expect(upgrade.status).toBe(202);
    const operationId = upgrade.body.operationId as string;

    // Both executors frozen while one's helm runs: nobody can report before the deadline.
    const runner = await runnerOf(id);
    freeze(runner);
    for (const app of executors()) if (app !== runner) freeze(app);
    await openGate(kubeconfig, namespace, `${id}-gate`);
    await waitFor(async () => (await helmHistory(id)).some((h) => h.revision === 2 && h.status === 'deployed'), { timeoutMs: 30_000, what: 'Helm to deploy revision 2' });

    const failed = await waitFor(async () => {
      const r = await release(id);
      return r.status === 'FAILED' ? r : null;
    }, { timeoutMs: 120_000, intervalMs: 500, what: 'the watchdog to fail the upgrade at its deadline' });
    expect(failed.lastError).toMatch(/timed out/i);

    for (const app of executors()) thaw(app);
    const late = await waitFor(async () => {
      const r = await release(id);
      return r.status === 'DEPLOYED' ? r : null;
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'the late success to be recorded' });
    expect(late).toMatchObject({ currentRevision: 2, lastSuccessfulRevision: 2 });
    const events = await eventsOf(id);
    expect(events.filter((e) => e.data.revision === 2).map((e) => e.type)).toEqual(['UpgradeRequested', 'RevisionFailed', 'RevisionDeployedLate']);
    expect(events.find((e) => e.type === 'RevisionDeployedLate')!.data).toMatchObject({ operationId, helmRevision: 2, releaseDeployed: true });

    // The timeout's failure, though the release rolls back automatically on failures, asked for no rollback.
    const failure = stack.recorded.events.find((e) => e.key === id && String((e.json() as { type: string }).type).endsWith('RevisionFailed'))!;
    expect((failure.json() as { data: { remediate: boolean } }).data.remediate).toBe(false);
    await remediationCaughtUp(stack.probe, stack.recorded.results, id, failure);
    expect((await history(id)).map((r) => [r.revision, r.operation, r.status, r.trigger])).toEqual([
      [1, 'INSTALL', 'DEPLOYED', 'MANUAL'],
      [2, 'UPGRADE', 'DEPLOYED', 'MANUAL'],
    ]);
    expect((await helmHistory(id)).map((h) => h.revision)).toEqual([1, 2]);
  }, 300_000);
});
