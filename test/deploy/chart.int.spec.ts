import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { kubeGet, testCluster } from '@app/test-support';

const run = promisify(execFile);
const CHART = join(__dirname, '../../deploy/helm/helm-rollback-service');
const REQUIRED = ['--set', 'kafka.brokers=kafka:9092', '--set', 'mongodb.uri=mongodb://mongo:27017/helm_releases'];

interface PodSpec {
  securityContext: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  volumes: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> } }>;
  containers: Array<{
    image: string;
    env: Array<{ name: string; value?: string }>;
    securityContext: Record<string, unknown>;
    readinessProbe: { httpGet: { path: string } };
    livenessProbe: { httpGet: { path: string } };
    resources: { requests?: Record<string, string> };
  }>;
}
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { template: { spec: PodSpec } };
}

// The service's own Helm chart (deploy/helm), checked by the real helm and installed into the local
// kube-apiserver, whose simulated node runs its pods: every object accepted, every Deployment Ready.
describe('the Helm chart of the service (real helm, real API server)', () => {
  const { helmBin, kubeconfig, namespace } = testCluster('chart');
  const helm = (...args: string[]) => run(helmBin, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 16 * 1024 * 1024 });
  const template = async (...args: string[]): Promise<Manifest[]> =>
    parseAllDocuments((await helm('template', 'hrs', CHART, '--namespace', namespace, ...REQUIRED, ...args)).stdout)
      .map((d) => d.toJS() as Manifest)
      .filter(Boolean);
  const refusal = (args: string[]) => helm('template', 'hrs', CHART, ...args).then(() => 'rendered', (e: { stderr: string }) => e.stderr);

  it('passes helm lint, and names the values it cannot do without', async () => {
    expect((await helm('lint', '--strict', CHART, ...REQUIRED)).stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await refusal(['--set', 'mongodb.uri=mongodb://mongo:27017/helm_releases'])).toMatch(/kafka.brokers is required/);
    expect(await refusal(['--set', 'kafka.brokers=kafka:9092'])).toMatch(/mongodb.uri is required/);
  });

  it('refuses values its schema does not allow: an unknown key, a bad enum, a secret in the ConfigMap, a cluster both in-cluster and remote', async () => {
    expect(await refusal([...REQUIRED, '--set', 'replicas=3'])).toMatch(/values don't meet the specifications of the schema.*\n.*\n.*additional properties 'replicas' not allowed/);
    expect(await refusal([...REQUIRED, '--set', 'rbac.scope=everywhere'])).toMatch(/at '\/rbac\/scope'/);
    expect(await refusal([...REQUIRED, '--set', 'config.AUTH_TOKENS=admin:me:0123456789abcdef'])).toMatch(/at '\/config': 'not' failed/);
    expect(await refusal([...REQUIRED, '--set', 'clusters[0].name=a', '--set', 'clusters[0].inCluster=true', '--set', 'clusters[0].kubeconfigSecret=a-kubeconfig'])).toMatch(/at '\/clusters\/0': 'not' failed/);
    expect(await refusal([...REQUIRED, '--set', 'image.digest=latest'])).toMatch(/at '\/image\/digest'/);
    // Node's flags only, each a --flag or --flag=value: no file to --require, no stray words.
    expect(await refusal([...REQUIRED, '--set', 'api.nodeOptions=--require /tmp/hook.js'])).toMatch(/at '\/api\/nodeOptions'/);
  });

  it('renders an executor per cluster, each with only its own kubeconfig, and every pod locked down', async () => {
    const manifests = await template(
      '--set', 'clusters[0].name=local', '--set', 'clusters[0].inCluster=true', '--set', 'clusters[0].executor=true',
      '--set', 'clusters[1].name=prod-eu', '--set', 'clusters[1].kubeconfigSecret=prod-eu-kubeconfig', '--set', 'clusters[1].executor=true', '--set', 'clusters[1].namespaces[0]=payments-*',
      '--set', 'clusters[2].name=audit-only', '--set', 'clusters[2].kubeconfigSecret=audit-kubeconfig',
      '--set', 'defaultCluster=local', '--set', 'rbac.scope=cluster', '--set', 'image.digest=sha256:' + 'a'.repeat(64),
    );
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['hrs-helm-rollback-service-api', 'hrs-helm-rollback-service-executor-local', 'hrs-helm-rollback-service-executor-prod-eu', 'hrs-helm-rollback-service-release-service', 'hrs-helm-rollback-service-remediation']);
    const config = manifests.find((m) => m.kind === 'ConfigMap')!.data!;
    expect(JSON.parse(config.CLUSTERS)).toEqual([
      { name: 'local' },
      { name: 'prod-eu', namespaces: ['payments-*'], kubeconfig: '/etc/helm-rollback-service/clusters/prod-eu/kubeconfig' },
      { name: 'audit-only', kubeconfig: '/etc/helm-rollback-service/clusters/audit-only/kubeconfig' },
    ]);
    expect(config).toMatchObject({ DEFAULT_CLUSTER: 'local', KAFKA_BROKERS: 'kafka:9092', HELM_BIN: '/usr/local/bin/helm', STREAM_CACHE_MIB: '48' });
    expect(config).not.toHaveProperty('MONGODB_URI');
    const pod = (name: string) => deployments.find((d) => d.metadata.name === `hrs-helm-rollback-service-${name}`)!.spec!.template.spec;
    const secretsOf = (name: string) => pod(name).volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    expect(secretsOf('executor-prod-eu')).toEqual(['prod-eu-kubeconfig']);
    expect(secretsOf('executor-local')).toEqual([]);
    expect(pod('executor-prod-eu').containers[0].env).toContainEqual({ name: 'EXECUTOR_CLUSTERS', value: 'prod-eu' });
    // The release service's heap is capped to what its caches need (values.yaml), the others' are not.
    expect(pod('release-service').containers[0].env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=144 --max-semi-space-size=4' });
    expect(pod('api').containers[0].env.map((e: { name: string }) => e.name)).not.toContain('NODE_OPTIONS');
    for (const d of deployments) {
      const spec = d.spec!.template.spec;
      const [container] = spec.containers;
      expect(container.image).toBe(`ghcr.io/helm-rollback-service/helm-rollback-service@sha256:${'a'.repeat(64)}`);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.resources.requests).toBeDefined();
      // Only the executors talk to the Kubernetes API.
      expect(spec.automountServiceAccountToken === false).toBe(!d.metadata.name.includes('executor'));
    }
    expect(manifests.filter((m) => m.kind === 'ClusterRole').map((m) => m.metadata.name)).toEqual(['hrs-helm-rollback-service-helm']);
    expect(manifests.filter((m) => m.kind === 'PodDisruptionBudget').map((m) => m.metadata.name).sort()).toEqual([
      'hrs-helm-rollback-service-api', 'hrs-helm-rollback-service-executor-local', 'hrs-helm-rollback-service-executor-prod-eu', 'hrs-helm-rollback-service-release-service',
    ]);
    const monitored = await template('--set', 'serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1');
    expect(monitored.filter((m) => m.kind === 'ServiceMonitor')).toHaveLength(1);
    expect(manifests.filter((m) => m.kind === 'ServiceMonitor')).toHaveLength(0);
  });

  it('mounts each app its own command signing key only, and the signers into the release service alone', async () => {
    const manifests = await template('--set', 'signing.secret=command-signing');
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    expect(deployments).toHaveLength(4);
    for (const d of deployments) {
      const component = d.metadata.labels!['app.kubernetes.io/component'];
      const spec = d.spec!.template.spec;
      const signing = spec.volumes.find((v) => v.name === 'signing')!;
      const files = { [`${component}.jwk`]: 'key.jwk', ...(component === 'release-service' ? { 'signers.json': 'signers.json' } : {}) };
      expect({ component, secret: signing.secret!.secretName, items: signing.secret!.items }).toEqual({ component, secret: 'command-signing', items: Object.entries(files).map(([key, path]) => ({ key, path })) });
      const env = spec.containers[0].env.filter((e) => e.name.startsWith('KAFKA_SIGN')).map((e) => e.name);
      expect({ component, env }).toEqual({ component, env: component === 'release-service' ? ['KAFKA_SIGNING_KEY_FILE', 'KAFKA_SIGNERS_FILE'] : ['KAFKA_SIGNING_KEY_FILE'] });
    }
    expect(await refusal([...REQUIRED, '--set', 'signing.secret=Not_A_Name'])).toMatch(/signing/);
  });

  it('installs into the API server: every object accepted, every Deployment Ready on the simulated node', async () => {
    const out = await helm(
      'install', 'hrs', CHART, '--namespace', namespace, '--create-namespace', '--wait', '--timeout', '180s', ...REQUIRED,
      '--set', `rbac.namespaces[0]=${namespace}`, '--set', 'secrets.authTokens=admin:ops:0123456789abcdef',
    );
    expect(out.stdout).toMatch(/STATUS: deployed/);
    const names = ['api', 'release-service', 'remediation', 'executor-default'];
    for (const name of names) {
      const { status, body } = await kubeGet(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments/hrs-helm-rollback-service-${name}`);
      expect(status).toBe(200);
      const { spec, status: state } = body as { spec: { replicas: number }; status: { readyReplicas?: number } };
      expect(state.readyReplicas).toBe(spec.replicas);
    }
    for (const path of [
      `/api/v1/namespaces/${namespace}/serviceaccounts/hrs-helm-rollback-service`,
      `/api/v1/namespaces/${namespace}/secrets/hrs-helm-rollback-service`,
      `/api/v1/namespaces/${namespace}/services/hrs-helm-rollback-service-api`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles/hrs-helm-rollback-service-helm`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/hrs-helm-rollback-service-leases`,
      `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/hrs-helm-rollback-service-executor-default`,
    ]) {
      expect({ path, status: (await kubeGet(kubeconfig, path)).status }).toEqual({ path, status: 200 });
    }
    await helm('uninstall', 'hrs', '--namespace', namespace, '--wait');
  }, 240_000);
});
