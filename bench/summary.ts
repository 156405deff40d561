/**
 * Merges the results of one `npm run bench` (bench/results/<name>.json written since BENCH_RUN_STARTED)
 * into one table, printed and written to bench/results/all.json. A benchmark that wrote nothing in this
 * run is named as missing rather than shown with an older result.
 *
 *   npx tsx bench/summary.ts throughput event-store replay executor
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Figure, RESULTS_DIR, table } from './support';

interface Result {
  name: string;
  at: string;
  figures: Figure[];
}

const read = (name: string, since: number): Result | null => {
  const file = join(RESULTS_DIR, `${name}.json`);
  if (!existsSync(file)) return null;
  const result = JSON.parse(readFileSync(file, 'utf8')) as Result;
  return Date.parse(result.at) >= since ? result : null;
};

function main(): void {
  const names = process.argv.slice(2);
  const since = Number(process.env.BENCH_RUN_STARTED ?? 0) * 1000;
  const results = names.map((name) => ({ name, result: read(name, since) }));
  const missing = results.filter((r) => !r.result).map((r) => r.name);
  const figures = results.flatMap((r) => r.result?.figures ?? []);
  const seconds = since ? Math.round((Date.now() - since) / 1000) : null;
  const title = `all benchmarks${seconds !== null ? ` (${Math.floor(seconds / 60)} min ${seconds % 60} s)` : ''}`;
  console.log(table(figures, title).join('\n'));
  if (missing.length) console.log(`\n!!! no result in this run from: ${missing.join(', ')} (see its output above)`);
  const missed = figures.filter((f) => f.met === false).map((f) => f.figure);
  if (missed.length) console.log(`\ngoals missed: ${missed.length} of ${figures.filter((f) => f.met !== null).length}`);
  writeFileSync(
    join(RESULTS_DIR, 'all.json'),
    JSON.stringify({ name: 'all', at: new Date().toISOString(), wallSeconds: seconds, missing, figures: results.flatMap((r) => (r.result?.figures ?? []).map((f) => ({ bench: r.name, ...f }))) }, null, 2),
  );
  if (missing.length) process.exitCode = 1;
}

main();
