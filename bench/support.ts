/** Small helpers shared by the benchmarks: timing, stats and the result table. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

export const median = (values: number[]): number => percentile(values, 50);

/** Runs `fn` `n` times and returns each duration in ms. */
export const timeEach = async (n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> => {
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const start = now();
    await fn(i);
    times.push(now() - start);
  }
  return times;
};

export interface Figure {
  figure: string;
  ours: number;
  baseline: number;
  unit: string;
  /** ours / baseline, or baseline / ours for "lower is better" figures, as the goal is stated. */
  ratio: number;
  goal: string;
  met: boolean;
  note?: string;
}

export const figure = (f: Omit<Figure, 'met' | 'ratio'> & { ratio?: number; higherIsBetter: boolean; goalValue: number }): Figure => {
  const ratio = f.ratio ?? f.ours / f.baseline;
  const met = f.higherIsBetter ? ratio >= f.goalValue : ratio <= f.goalValue;
  return { figure: f.figure, ours: round(f.ours), baseline: round(f.baseline), unit: f.unit, ratio: round(ratio), goal: f.goal, met, ...(f.note ? { note: f.note } : {}) };
};

const round = (n: number): number => Math.round(n * 100) / 100;

export const report = (name: string, figures: Figure[]): void => {
  const rows = figures.map((f) => [f.figure, `${f.ours} ${f.unit}`, `${f.baseline} ${f.unit}`, `${f.ratio}x`, f.goal, f.met ? 'met' : 'MISSED']);
  const header = ['figure', 'ours', 'raw baseline', 'ratio', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\n${name}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  for (const f of figures) if (f.note) console.log(`  note (${f.figure}): ${f.note}`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, at: new Date().toISOString(), figures }, null, 2));
};
