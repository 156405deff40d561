/**
 * Summarises a V8 CPU profile (node --cpu-prof; see BENCH_CPU_PROF_DIR in throughput.bench.ts): the
 * functions with the most self time, and self time by where the code lives (our libs/apps, each
 * node_modules package, node internals), so what dominates a run is visible without a profiler UI.
 *
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a function lives: a package, our code (dist/libs/<lib>, dist/apps/<app>), node, or V8 itself. */
const placeOf = (url: string): string => {
  if (!url) return '(v8/native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/dist\/(libs|apps)\/([^/]+)/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return 'node';
  return url;
};

const top = <K>(totals: Map<K, number>, n: number): Array<[K, number]> => [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);

function main(): void {
  const [file, n = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time of a node: the time deltas of the samples taken in it.
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = `${functionName || '(anonymous)'}  ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byPlace.set(placeOf(url), (byPlace.get(placeOf(url)) ?? 0) + ms);
  }
  const pct = (ms: number) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${Math.round(ms).toString().padStart(7)} ms`;
  console.log(`${file}: ${Math.round(totalMs)} ms profiled\n\nself time by place`);
  for (const [place, ms] of top(byPlace, 15)) console.log(`${pct(ms)}  ${place}`);
  console.log('\nself time by function');
  for (const [name, ms] of top(byFunction, Number(n))) console.log(`${pct(ms)}  ${name}`);
}

main();
