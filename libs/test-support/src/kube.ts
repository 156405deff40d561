/// <reference types="jest" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmCliAdapter, KubeApi, kubeAuth } from '@app/helm';
import { ChartRepo, startChartRepo } from './chart-repo';
import { uniqueSuffix, waitFor } from './servers';

/** GET on the Kubernetes API of a kubeconfig: what the cluster really holds, without kubectl. */
export const kubeGet = async (kubeconfig: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const { status, body } = await new KubeApi(kubeAuth(kubeconfig)).get<Record<string, unknown>>(path);
  return { status, body: body ?? {} };
};

export const testKube = (): { helmBin: string; kubeconfig: string } => {
  const helmBin = process.env.HELM_BIN;
  const kubeconfig = process.env.KUBECONFIG;
  if (!helmBin || !kubeconfig) {
    throw new Error('HELM_BIN and KUBECONFIG are not set: run `npm test`, which provisions helm and a local kube-apiserver');
  }
  return { helmBin, kubeconfig };
};

/**
 * The second test cluster, "b", for multi-cluster tests: KUBECONFIG_B, which scripts/infra/kube.sh exports
 * beside KUBECONFIG (inherited by jest like it). API only: no controllers or node, so install with
 * --wait=false and expect no pod to run; a namespace deleted there stays Terminating.
 */
export const testKubeB = (): { helmBin: string; kubeconfig: string } => {
  const { helmBin } = testKube();
  const kubeconfig = process.env.KUBECONFIG_B;
  if (!kubeconfig) {
    throw new Error(
      'KUBECONFIG_B is not set: run `npm test`, which provisions a second local kube-apiserver (cluster "b"), ' +
        'or, with KUBECONFIG_EXTERNAL, set KUBECONFIG_EXTERNAL_B to a second cluster of your own',
    );
  }
  return { helmBin, kubeconfig };
};

/**
 * The test cluster for one suite: helm, the kubeconfig, a namespace of the suite's own (helm creates it on
 * the first install), and the ConfigMap the fixture chart writes for a release, which holds what reached
 * the cluster (its chart version and values); status 404 once the release is gone.
 */
export const testCluster = (namespacePrefix: string) => {
  const { helmBin, kubeconfig } = testKube();
  const namespace = `${namespacePrefix}-${uniqueSuffix()}`;
  const configMap = async (release: string): Promise<{ status: number; data?: Record<string, string> }> => {
    const { status, body } = await kubeGet(kubeconfig, `/api/v1/namespaces/${namespace}/configmaps/${release}-config`);
    return { status, data: body.data as Record<string, string> | undefined };
  };
  return { helmBin, kubeconfig, namespace, configMap };
};

/**
 * testCluster, and the Helm of one suite: a repository of the fixture charts and a Helm home of its own,
 * made before the suite's tests and removed after them (call it in the describe body). `suite` is filled in
 * by then.
 */
export const helmSuite = (namespacePrefix: string) => {
  const cluster = testCluster(namespacePrefix);
  const suite = {} as { repo: ChartRepo; home: string; helm: HelmCliAdapter };
  beforeAll(async () => {
    suite.repo = await startChartRepo(cluster.helmBin);
    suite.home = await mkdtemp(join(tmpdir(), `${namespacePrefix}-home-`));
    suite.helm = new HelmCliAdapter({ helmBin: cluster.helmBin, kubeconfig: cluster.kubeconfig, homeDir: suite.home });
  });
  afterAll(async () => {
    await suite.repo?.stop();
    if (suite.home) await rm(suite.home, { recursive: true, force: true });
  });
  return { ...cluster, suite };
};

/**
 * Plays a cloud controller's part for a LoadBalancer Service: writes an ingress address into its status,
 * after which `helm --wait` counts it ready (the fixture chart web-1.4.0 waits for exactly that).
 */
export const openGate = async (kubeconfig: string, namespace: string, service: string): Promise<void> => {
  const kube = new KubeApi(kubeAuth(kubeconfig));
  const path = `/api/v1/namespaces/${namespace}/services/${service}`;
  // Helm may not have created it yet.
  const body = await waitFor(async () => {
    const got = await kube.get<Record<string, unknown>>(path);
    if (got.status !== 200 && got.status !== 404) throw new Error(`Service ${namespace}/${service}: HTTP ${got.status}`);
    return got.status === 200 ? got.body ?? null : null;
  }, { timeoutMs: 30_000, intervalMs: 200, what: `Service ${namespace}/${service} to exist` });
  const written = await kube.put(`${path}/status`, { ...body, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
  if (written.status !== 200) throw new Error(`Service ${namespace}/${service} status: HTTP ${written.status}`);
};
