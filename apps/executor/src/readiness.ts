import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeApi, kubeAuth } from '@app/helm';
import { executorClusters, type AppConfig, type ReadinessCheck } from '@app/platform';

const run = promisify(execFile);

/**
 * The executor is ready when it can do its work: the helm binary runs, and each cluster it serves
 * answers. A probe that fails says why in /health/ready.
 */
export const executorReadiness = (config: AppConfig): ReadinessCheck[] => [
  {
    key: 'helm',
    probe: async () => {
      const { stdout } = await run(config.HELM_BIN, ['version', '--short'], { timeout: 2_500, env: { PATH: process.env.PATH ?? '' } });
      return stdout.trim();
    },
  },
  ...executorClusters(config).map(({ name, kubeconfig }) => ({
    key: `cluster:${name}`,
    probe: async () => {
      // /version is readable by every authenticated client (system:public-info-viewer).
      const { status, body } = await new KubeApi(kubeAuth(kubeconfig)).get<{ gitVersion?: string }>('/version');
      if (status !== 200) throw new Error(`the Kubernetes API answered ${status} to GET /version`);
      return body?.gitVersion;
    },
  })),
];
