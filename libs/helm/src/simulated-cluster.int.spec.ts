import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { helmSuite, kubeGet } from '@app/test-support';
import { HelmError } from './helm.port';

const run = promisify(execFile);

// The test cluster's controllers and simulated node (scripts/infra/kube-nodes.sh): Deployments roll out
// for real, pods behave as the fixture charts' labels ask, `helm test` runs its hook pods to the end.
describe('the simulated cluster: real controllers, one kwok node', () => {
  const { helmBin, kubeconfig, namespace, suite } = helmSuite('nodes');
  const apply = (name: string, chartVersion: string, timeoutSeconds = 60) =>
    suite.helm.apply({ name, namespace, chart: { name: 'web', repository: suite.repo.url }, chartVersion, values: {}, timeoutSeconds }, { atomic: false });
  const deployment = async (name: string) => (await kubeGet(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}-web`)).body as { status?: { readyReplicas?: number; replicas?: number } };
  const pods = async (name: string) =>
    ((await kubeGet(kubeconfig, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${name}-web`)}`)).body.items as Array<{
      spec: { nodeName?: string };
      status: { phase: string; containerStatuses?: Array<{ ready: boolean; state: { waiting?: { reason: string } } }> };
    }>);
  const helmTest = (name: string) => run(helmBin, ['test', '--namespace', namespace, '--timeout', '60s', '--', name], { env: { ...process.env, KUBECONFIG: kubeconfig } });

  it('rolls a Deployment out: helm --wait returns once its pods are scheduled onto the node and Ready', async () => {
    const applied = await apply('rolls', '1.5.0');
    expect(applied.helmRevision).toBe(1);
    expect((await deployment('rolls')).status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    const scheduled = await pods('rolls');
    expect(scheduled).toHaveLength(2);
    expect(scheduled.every((p) => p.spec.nodeName === 'kwok-node-0' && p.status.phase === 'Running')).toBe(true);
  });

  it('runs helm test to its end: a passing hook pod succeeds, a failing one fails the test', async () => {
    await apply('tested', '1.5.0');
    const passed = await helmTest('tested');
    expect(passed.stdout).toMatch(/Phase:\s+Succeeded/);
    await apply('tested', '1.7.0');
    const failed = await helmTest('tested').catch((error: { stdout?: string; stderr?: string }) => error);
    expect(failed).toMatchObject({ stderr: expect.stringMatching(/tested-test failed|pod .*failed/) });
  });

  it('the adapter reports helm test as a verdict: passed, or failed with Helm\'s words', async () => {
    await apply('verdict', '1.5.0');
    expect(await suite.helm.test('verdict', namespace, 60)).toEqual({ passed: true, output: expect.stringMatching(/verdict-test/) });
    await apply('verdict', '1.7.0');
    expect(await suite.helm.test('verdict', namespace, 60)).toEqual({ passed: false, output: expect.stringMatching(/^helm test failed: .*verdict-test/s) });
    // No verdict on a release that is not there: an error, not a failed test.
    await expect(suite.helm.test('absent', namespace, 10)).rejects.toThrow(/not found/);
  });

  it('fails by --wait timeout when the pods crash, and they show CrashLoopBackOff', async () => {
    const error = await apply('crashes', '1.6.0', 8).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).message).toMatch(/timed out|deadline exceeded/i);
    // Kubernetes' reason, which Helm's timeout does not give.
    expect((error as HelmError).message).toMatch(/not ready: Deployment crashes-web \(0\/2 ready\): .*CrashLoopBackOff/);
    const crashed = await pods('crashes');
    expect(crashed.length).toBeGreaterThan(0);
    expect(crashed.every((p) => p.status.containerStatuses?.[0].state.waiting?.reason === 'CrashLoopBackOff' && !p.status.containerStatuses[0].ready)).toBe(true);
  });

  it('leaves a never-ready pod Pending, so the never-ready chart still times out', async () => {
    const error = await apply('stuck', '1.3.0', 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).message).toMatch(/timed out|deadline exceeded/i);
    expect((error as HelmError).message).toMatch(/not ready: Deployment stuck-never-ready \(0\/1 ready\): Available MinimumReplicasUnavailable.*pod stuck-never-ready-\S+: Pending/);
    const stuck = (await kubeGet(kubeconfig, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent('hrs.test/never-ready=true')}`)).body.items as Array<{ status: { phase: string } }>;
    expect(stuck.length).toBeGreaterThan(0);
    expect(stuck.every((p) => p.status.phase === 'Pending')).toBe(true);
  });
});
