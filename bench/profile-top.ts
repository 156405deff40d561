/**
 * Summarises a V8 CPU profile (node --cpu-prof; see BENCH_CPU_PROF_DIR in throughput.bench.ts): the
 * functions with the most self time, and self time by where the code lives (our libs/apps, each
 * node_modules package, node internals), so what dominates a run is visible without a profiler UI.
 *
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [top] [function]
 *
 * With a function name, also where its self time comes from: the nearest caller outside node's own code
 * (a native socket write says little until one knows whose write it is).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
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
  const [file, n = '25', callersOf] = process.argv.slice(2);
  if (!file) throw new Error('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [top] [function]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time of a node: the time deltas of the samples taken in it.
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  // Shares are of the busy time: an app waiting on its database is mostly idle, which says little.
  let idleMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const name = `${functionName || '(anonymous)'}  ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byPlace.set(placeOf(url), (byPlace.get(placeOf(url)) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  const pct = (ms: number) => `${((ms / busyMs) * 100).toFixed(1).padStart(5)}%  ${Math.round(ms).toString().padStart(7)} ms`;
  console.log(`${file}: ${Math.round(totalMs)} ms profiled, ${Math.round(busyMs)} ms busy (shares below are of the busy time)\n\nself time by place`);
  for (const [place, ms] of top(byPlace, 15)) console.log(`${pct(ms)}  ${place}`);
  console.log('\nself time by function');
  for (const [name, ms] of top(byFunction, Number(n))) console.log(`${pct(ms)}  ${name}`);
  if (callersOf) {
    console.log(`\nself time of ${callersOf}, by its nearest caller outside node's own code`);
    for (const [caller, ms] of top(callersByTime(profile, byId, self, callersOf), Number(n))) console.log(`${pct(ms)}  ${caller}`);
  }
}

/** The self time of `name`, summed by the first frame up its stack that is not node's or V8's own. */
const callersByTime = (profile: Profile, byId: Map<number, ProfileNode>, self: Map<number, number>, name: string): Map<string, number> => {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  for (const [id, ms] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    let up = parent.get(id);
    while (up !== undefined && (!byId.get(up)!.callFrame.url || byId.get(up)!.callFrame.url.startsWith('node:'))) up = parent.get(up);
    const frame = up === undefined ? null : byId.get(up)!.callFrame;
    const caller = frame ? `${frame.functionName || '(anonymous)'}  ${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '(root)';
    totals.set(caller, (totals.get(caller) ?? 0) + ms);
  }
  return totals;
};

main();
