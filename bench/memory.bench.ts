/**
 * The release service's memory with large values (issue 22): BENCH_MEMORY_RELEASES releases, each
 * installed and upgraded with values of about BENCH_MEMORY_VALUES_KB, all over Kafka as fast as the
 * broker takes them. Held to an absolute limit, not to a baseline: the peak resident memory of the
 * release service stays <= 256 MiB, because its memories (loaded streams, written views, dispatched
 * versions) are bounded by bytes (STREAM_CACHE_MIB, VIEW_CACHE_MIB) rather than by entries. The decision
 * rate and the stream cache's own gauge are reported beside it. The service runs with the Node flags the
 * chart gives it (releaseService.nodeOptions: its heap capped), unless BENCH_APP_NODE_OPTIONS says otherwise.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RssSampler } from './kafka-support';
import { cleanUp, completeAll, decideAll, openRun, range, releaseId } from './service-run';
import { bounded, reportOnly, report, sizeFrom } from './support';

const RELEASES = sizeFrom('BENCH_MEMORY_RELEASES', 2000);
const VALUES_KB = sizeFrom('BENCH_MEMORY_VALUES_KB', 100);
const LIMIT_MIB = 256;

const chart = { name: 'web', repository: 'http://127.0.0.1:1' };

/** Values of about VALUES_KB: a hundred keys of random text (incompressible, shared with no other release). */
const valuesOf = (tag: string) => {
  const keys = 100;
  const each = Math.max(1, Math.round((VALUES_KB * 1024) / keys / 1.34));
  return { image: { tag }, config: Object.fromEntries(range(keys).map((k) => [`key${k}`, randomBytes(each).toString('base64')])) };
};

interface ChartValues {
  releaseService: { nodeOptions?: string };
  config: Record<string, string | number | undefined>;
}
const chartValues = (): ChartValues => parse(readFileSync(join(__dirname, '..', 'deploy', 'helm', 'helm-rollback-service', 'values.yaml'), 'utf8')) as ChartValues;
/** The Node flags the chart runs the release service with, and its configuration keys. */
const chartNodeOptions = (): string => chartValues().releaseService.nodeOptions ?? '';
const chartConfig = (): ChartValues['config'] => chartValues().config ?? {};

/** A metric's value from a Prometheus text page, or NaN. */
const metric = (page: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(page)?.[1] ?? NaN);

async function main(): Promise<void> {
  const extra: Record<string, string> = { LOG_LEVEL: process.env.BENCH_APP_LOG_LEVEL ?? 'info' };
  const nodeOptions = process.env.BENCH_APP_NODE_OPTIONS ?? chartNodeOptions();
  if (nodeOptions) extra.NODE_OPTIONS = nodeOptions;
  // The cache as the chart sizes it (its ConfigMap), unless BENCH_STREAM_CACHE_MIB says otherwise.
  const cacheMib = process.env.BENCH_STREAM_CACHE_MIB ?? chartConfig().STREAM_CACHE_MIB;
  if (cacheMib) extra.STREAM_CACHE_MIB = String(cacheMib);
  const { b, apps } = await openRun('bench_mem', {}, ['release-service'], extra);
  const [service] = apps;
  const memory = new RssSampler([{ name: service.name, pid: service.process.pid! }]);
  try {
    memory.start();
    const installed = await decideAll(
      b,
      range(RELEASES).map((i) => ({ type: 'InstallRelease', data: { releaseId: releaseId(i), namespace: 'apps', chart, chartVersion: '1.0.0', values: valuesOf('1.0.0') } })),
      'install',
    );
    const deployed = await completeAll(b, installed.decisions, 1, 'install succeeded');
    const upgraded = await decideAll(
      b,
      range(RELEASES).map((i) => ({ type: 'UpgradeRelease', data: { releaseId: releaseId(i), chartVersion: '1.1.0', values: valuesOf('1.1.0') } })),
      'upgrade',
    );
    const upgradeDeployed = await completeAll(b, upgraded.decisions, 2, 'upgrade succeeded');
    const rss = memory.stop().get(service.name);
    const page = await (await fetch(`${service.url}/metrics`)).text();
    const phases = [installed, deployed, upgraded, upgradeDeployed];
    const refused = phases.reduce((n, p) => n + p.refused, 0);
    const commands = RELEASES * phases.length;
    const ms = phases.reduce((n, p) => n + p.ms, 0);
    const cacheMiB = metric(page, 'helm_release_stream_cache_bytes') / 1024 / 1024;
    report('memory', [
      bounded({
        figure: `release-service RSS, peak, ${RELEASES} releases installed and upgraded with ${VALUES_KB} KB values`,
        ours: rss?.peak ?? NaN,
        unit: 'MiB',
        limit: LIMIT_MIB,
        note: `NODE_OPTIONS "${nodeOptions}"; at the end ${Math.round(rss?.last ?? NaN)} MiB; stream cache ${cacheMiB.toFixed(1)} MiB (STREAM_CACHE_MIB ${cacheMib ?? 'default'}); ${refused} not ACCEPTED`,
      }),
      reportOnly({
        figure: `commands decided with ${VALUES_KB} KB values (install, result, upgrade, result)`,
        ours: (commands / ms) * 1000,
        unit: '/s',
        note: `per phase: ${phases.map((p) => Math.round((RELEASES / p.ms) * 1000)).join(', ')} /s`,
      }),
    ]);
    if (refused) process.exitCode = 1;
  } catch (error) {
    console.error(`--- ${service.name} output (last lines) ---\n${service.output().slice(-3000)}`);
    throw error;
  } finally {
    memory.stop();
    await cleanUp(b, apps);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
