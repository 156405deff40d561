/**
 * Executor time per operation vs a raw `helm upgrade` of the same chart, same run, same cluster
 * (issue 5 / 9, goal <= 1.2x). "Ours" is what the executor does for an upgrade: take the chart archive
 * (kept after its first pull, see HelmCliAdapter), digest it, write values to a private file,
 * `helm upgrade --install --wait --output json` (whose output names the revision). The same with the
 * chart pulled every time (a version the executor has not applied before) is reported beside it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HelmCliAdapter } from '@app/helm';
import { startChartRepo, testKube } from '@app/test-support';
import { figure, median, report, reportOnly, timeEach } from './support';

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
    const coldCache = join(home, 'cold-charts');
    const cold = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: home, tmpDir: home, chartCacheDir: coldCache });
    const upgrade = (adapter: HelmCliAdapter, name: string, i: number) =>
      adapter.apply({ name, namespace, chart: { name: 'web', repository: repo.url }, chartVersion: i % 2 ? '1.1.0' : '1.0.0', values: { i }, timeoutSeconds: 60 }, { atomic: false });
    const ours = (i: number) => upgrade(helm, 'ours', i);
    const oursCold = async (i: number) => {
      await rm(coldCache, { recursive: true, force: true });
      return upgrade(cold, 'cold', i);
    };
    const raw = async (i: number) => {
      const values = join(home, 'raw-values.json');
      await writeFile(values, JSON.stringify({ i }));
      await run(helmBin, ['upgrade', '--install', 'raw', 'web', '--repo', repo.url, '--version', i % 2 ? '1.1.0' : '1.0.0', '--namespace', namespace, '--create-namespace', '--values', values, '--wait', '--timeout', '60s'], { env });
    };
    await ours(0);
    await ours(1);
    await oursCold(0);
    await raw(0);
    const oursTimes: number[] = [];
    const coldTimes: number[] = [];
    const rawTimes: number[] = [];
    // Interleaved, so drift on a shared machine hits all alike.
    for (let i = 1; i <= N; i += 1) {
      oursTimes.push(...(await timeEach(1, () => ours(i))));
      coldTimes.push(...(await timeEach(1, () => oursCold(i))));
      rawTimes.push(...(await timeEach(1, () => raw(i))));
    }
    const rawMs = median(rawTimes);
    report('executor', [
      figure({ figure: 'executor upgrade vs raw helm upgrade (median ms)', ours: median(oursTimes), baseline: rawMs, unit: 'ms', higherIsBetter: false, goalValue: 1.2, goal: '<= 1.2x' }),
      reportOnly({
        figure: 'executor upgrade pulling the chart first (a version not applied before; median ms)',
        ours: median(coldTimes),
        unit: 'ms',
        note: `${(median(coldTimes) / rawMs).toFixed(2)}x the raw helm upgrade (${rawMs.toFixed(1)} ms): a helm pull process of its own, to digest exactly what is applied`,
      }),
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
