import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/platform';
import { testKube } from '@app/test-support';
import { executorReadiness } from './readiness';

// The executor's readiness on the real helm binary and API server, and on a helm and a cluster that do not answer.
describe('executor readiness (real helm and kube-apiserver)', () => {
  const { helmBin, kubeconfig } = testKube();
  let dir: string;
  /** A port nothing listens on any more: a cluster that is gone. */
  let closedPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'readiness-'));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const probes = async (env: Record<string, string>) => {
    const checks = executorReadiness(loadConfig({ KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', ...env }));
    return Promise.all(checks.map(async (c) => [c.key, await c.probe().then((v) => ['up', String(v)], (e: Error) => ['down', e.message])] as const));
  };

  it('is ready when helm runs and the cluster answers, naming their versions', async () => {
    const answers = Object.fromEntries(await probes({ HELM_BIN: helmBin, KUBECONFIG: kubeconfig }));
    expect(answers.helm).toEqual(['up', expect.stringMatching(/^v3\./)]);
    expect(answers['cluster:default']).toEqual(['up', expect.stringMatching(/^v1\./)]);
  });

  it('is not ready without a helm binary, or with a cluster that is gone', async () => {
    const config = join(dir, 'kubeconfig');
    await writeFile(config, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${closedPort}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    const answers = Object.fromEntries(await probes({ HELM_BIN: join(dir, 'no-helm'), KUBECONFIG: config }));
    expect(answers.helm[0]).toBe('down');
    expect(answers['cluster:default'][0]).toBe('down');
  }, 30_000);
});
