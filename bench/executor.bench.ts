/**
 * Executor time per operation vs a raw `helm upgrade` of the same chart, same run, same cluster
 * (issue 5 / 9, goal <= 1.2x). "Ours" is what the executor does for an upgrade: pull the chart, digest
 * it, write values to a private file, `helm upgrade --install --wait`, read Helm's history for the
 * revision number.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HelmCliAdapter } from '@app/helm';
import { startChartRepo, testKube } from '@app/test-support';
import { figure, median, report, timeEach } from './support';

const run = promisify(execFile);
const N = Number(process.env.BENCH_HELM_OPERATIONS ?? 8);

async function main(): Promise<void> {
  const { helmBin, kubeconfig } = testKube();
  const repo = await startChartRepo(helmBin);
  const home = await mkdtemp(join(tmpdir(), 'bench-helm-'));
  const namespace = `bench-${Date.now()}`;
  const env = { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  try {
    const helm = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: home, tmpDir: home });
    const ours = (i: number) =>
      helm.apply({ name: 'ours', namespace, chart: { name: 'web', repository: repo.url }, chartVersion: i % 2 ? '1.1.0' : '1.0.0', values: { i }, timeoutSeconds: 60 }, { atomic: false });
    const raw = async (i: number) => {
      const values = join(home, 'raw-values.json');
      await writeFile(values, JSON.stringify({ i }));
      await run(helmBin, ['upgrade', '--install', 'raw', 'web', '--repo', repo.url, '--version', i % 2 ? '1.1.0' : '1.0.0', '--namespace', namespace, '--create-namespace', '--values', values, '--wait', '--timeout', '60s'], { env });
    };
    await ours(0);
    await raw(0);
    const oursTimes: number[] = [];
    const rawTimes: number[] = [];
    // Interleaved, so drift on a shared machine hits both alike.
    for (let i = 1; i <= N; i += 1) {
      oursTimes.push(...(await timeEach(1, () => ours(i))));
      rawTimes.push(...(await timeEach(1, () => raw(i))));
    }
    report('executor', [
      figure({ figure: 'executor upgrade vs raw helm upgrade (median ms)', ours: median(oursTimes), baseline: median(rawTimes), unit: 'ms', higherIsBetter: false, goalValue: 1.2, goal: '<= 1.2x' }),
    ]);
  } finally {
    await repo.stop();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
