import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChartRepo, envOf, request, RunningApp, Stack, startApp, startChartRepo, startStack, testConfig, testKube, testKubeB, uniqueSuffix, waitFor } from '@app/test-support';

const run = promisify(execFile);
const ADMIN = 'admin-token-0123456789abc';

// Two real kube-apiservers (clusters a and b), an executor serving each, the release service and the API:
// an operation reaches only its cluster's executor. Cluster b has no controllers, so its operations run
// without --wait (a ConfigMap-only release is then deployed as soon as Helm has written it).
describe('releases on two clusters (e2e)', () => {
  const { helmBin, kubeconfig: kubeconfigA } = testKube();
  const { kubeconfig: kubeconfigB } = testKubeB();
  const namespace = `clusters-${uniqueSuffix()}`;
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'api'>;
  let executorA: RunningApp | undefined;
  let executorB: RunningApp | undefined;
  let startExecutor: (clusters: string) => Promise<RunningApp>;

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token: ADMIN });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const settled = (id: string) =>
    waitFor(async () => {
      const r = (await http('GET', `/releases/${id}`)).body;
      return r && !String(r.status).startsWith('PENDING') ? r : null;
    }, { timeoutMs: 90_000, intervalMs: 300, what: `${id} to settle` });
  const helm = async (kubeconfig: string, ...args: string[]) => (await run(helmBin, args, { env: { ...process.env, KUBECONFIG: kubeconfig } })).stdout;
  const helmValues = async (kubeconfig: string, name: string) => JSON.parse(await helm(kubeconfig, 'get', 'values', name, '-n', namespace, '-o', 'json'));
  /** What Helm holds on each cluster: the values of `shop`, and every release of the namespace at its revision. */
  const inHelm = async () => {
    const of = async (kubeconfig: string) => ({ values: await helmValues(kubeconfig, 'shop'), releases: await helmNames(kubeconfig) });
    return { a: await of(kubeconfigA), b: await of(kubeconfigB) };
  };
  const helmNames = async (kubeconfig: string) => (JSON.parse(await helm(kubeconfig, 'list', '-n', namespace, '-o', 'json')) as Array<{ name: string; revision: string }>).map((r) => `${r.name}@${r.revision}`);

  beforeAll(async () => {
    repo = await startChartRepo(helmBin);
    const config = testConfig({
      AUTH_TOKENS: `admin:ops:${ADMIN}`,
      CLUSTERS: JSON.stringify([{ name: 'a', kubeconfig: kubeconfigA }, { name: 'b', kubeconfig: kubeconfigB }]),
      DEFAULT_CLUSTER: 'a',
      REQUEST_TIMEOUT_MS: '20000',
    });
    const env = { HELM_BIN: helmBin, HELM_INVENTORY_INTERVAL_SECONDS: '2' };
    stack = await startStack(config, { apps: { releaseService: 'release-service', api: 'api' }, env });
    // Each executor its own Helm home: one clears its operations directory at start.
    startExecutor = (clusters) => startApp('executor', envOf(config, { ...env, EXECUTOR_CLUSTERS: clusters, EXECUTOR_HELM_HOME: mkdtempSync(join(tmpdir(), 'exec-')) }));
    executorA = await startExecutor('a');
    executorB = await startExecutor('b');
  });

  afterAll(async () => {
    await executorB?.stop();
    await executorA?.stop();
    await stack?.stop();
    await repo?.stop();
  });

  it('installs the same chart on a and b, and a rollback on b changes only b', async () => {
    const install = (releaseId: string, cluster: string) =>
      http('POST', '/releases', { releaseId, cluster, namespace, name: 'shop', chart: { name: 'web', repository: repo.url }, chartVersion: '1.0.0', values: { greeting: `v1-${cluster}` }, options: { wait: cluster === 'a' }, timeoutSeconds: 60 });
    expect(await install('shop-a', 'a')).toMatchObject({ status: 202 });
    expect(await install('shop-b', 'b')).toMatchObject({ status: 202 });
    expect(await settled('shop-a')).toMatchObject({ cluster: 'a', status: 'DEPLOYED' });
    expect(await settled('shop-b')).toMatchObject({ cluster: 'b', status: 'DEPLOYED' });
    for (const [id, cluster] of [['shop-a', 'a'], ['shop-b', 'b']]) {
      expect(await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { greeting: `v2-${cluster}` } })).toMatchObject({ status: 202 });
      expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
    }
    expect(await http('POST', '/releases/shop-b/rollback', { targetRevision: 1, reason: 'b only' })).toMatchObject({ status: 202, body: { revision: 3 } });
    expect(await settled('shop-b')).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });

    // Helm on each cluster: b rolled back to its revision 1 values, a untouched at its upgrade.
    expect(await inHelm()).toEqual({ a: { values: { greeting: 'v2-a' }, releases: ['shop@2'] }, b: { values: { greeting: 'v1-b' }, releases: ['shop@3'] } });
    // Each executor lists its own cluster for the inventory.
    const listed = await waitFor(async () => {
      const b = (await http('GET', `/helm-releases?cluster=b&namespace=${namespace}`)).body;
      return b.items.length === 1 && b.items[0].helmRevision === 3 ? b : null;
    }, { timeoutMs: 30_000, what: "b's inventory" });
    expect(listed.items[0]).toMatchObject({ name: 'shop', managedBy: 'shop-b' });
  });

  it("leaves b's operations to b's executor: with none running, a's never runs them and the watchdog fails them", async () => {
    await executorB!.stop();
    executorB = undefined;
    const install = await http('POST', '/releases', {
      releaseId: 'stray',
      cluster: 'b',
      namespace,
      chart: { name: 'web', repository: repo.url },
      chartVersion: '1.0.0',
      values: {},
      options: { wait: false },
      timeoutSeconds: 1,
    });
    expect(install).toMatchObject({ status: 202 });
    // The watchdog fails it at its deadline (its timeout plus the grace): nobody ran it.
    const failed = await waitFor(async () => {
      const r = (await http('GET', '/releases/stray')).body;
      return r.status === 'FAILED' ? r : null;
    }, { timeoutMs: 120_000, intervalMs: 1_000, what: 'the watchdog to fail the stray install' });
    expect(failed.lastError).toMatch(/^operation timed out: no executor of cluster 'b' has reported since \d{4}-/);
    expect(await helmNames(kubeconfigA)).not.toContain('stray@1');
    expect(await helmNames(kubeconfigB)).not.toContain('stray@1');
  });

  it('one executor serving a and b runs the operations of both, each on its own cluster, once', async () => {
    await executorA!.stop();
    executorA = await startExecutor('a,b');
    expect(await http('POST', '/releases/shop-a/rollback', { targetRevision: 1, reason: 'a too' })).toMatchObject({ status: 202, body: { revision: 3 } });
    expect(await http('POST', '/releases/shop-b/rollback', { targetRevision: 2, reason: 'b forward again' })).toMatchObject({ status: 202, body: { revision: 4 } });
    expect(await settled('shop-a')).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });
    expect(await settled('shop-b')).toMatchObject({ status: 'DEPLOYED', currentRevision: 4 });
    // One Helm revision for each operation: neither cluster's group ran the other's.
    expect(await inHelm()).toEqual({ a: { values: { greeting: 'v1-a' }, releases: ['shop@3'] }, b: { values: { greeting: 'v2-b' }, releases: ['shop@4'] } });
    // Its readiness names both clusters.
    const ready = await waitFor(async () => {
      const res = await request(executorA!, 'GET', '/health/ready');
      return res.status === 200 ? JSON.parse(res.text) : null;
    }, { timeoutMs: 30_000, what: 'the executor to be ready' });
    expect(ready.info).toMatchObject({ 'cluster:a': { status: 'up' }, 'cluster:b': { status: 'up' } });
  });
});
