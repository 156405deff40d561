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

/** A size from a BENCH_* variable, or the default; a typo stops the run instead of benchmarking NaN. */
export const sizeFrom = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got '${raw}')`);
  return value;
};

export interface Figure {
  figure: string;
  ours: number;
  /** null: a figure reported for information, with no baseline and no goal (memory, say). */
  baseline: number | null;
  unit: string;
  /** ours / baseline, or baseline / ours for "lower is better" figures, as the goal is stated. */
  ratio: number | null;
  goal: string;
  /** null when there is no goal to meet. */
  met: boolean | null;
  note?: string;
}

export const figure = (f: Omit<Figure, 'met' | 'ratio' | 'baseline'> & { baseline: number; ratio?: number; higherIsBetter: boolean; goalValue: number }): Figure => {
  const ratio = f.ratio ?? f.ours / f.baseline;
  const met = f.higherIsBetter ? ratio >= f.goalValue : ratio <= f.goalValue;
  return { figure: f.figure, ours: round(f.ours), baseline: round(f.baseline), unit: f.unit, ratio: round(ratio), goal: f.goal, met, ...(f.note ? { note: f.note } : {}) };
};

/** A figure with no baseline and no goal, reported as measured. */
export const reportOnly = (f: { figure: string; ours: number; unit: string; note?: string }): Figure => ({
  figure: f.figure,
  ours: round(f.ours),
  baseline: null,
  unit: f.unit,
  ratio: null,
  goal: 'report',
  met: null,
  ...(f.note ? { note: f.note } : {}),
});

/** A figure held to an absolute limit rather than a baseline (peak memory, say): met when at most `limit`. */
export const bounded = (f: { figure: string; ours: number; unit: string; limit: number; note?: string }): Figure => ({
  figure: f.figure,
  ours: round(f.ours),
  baseline: null,
  unit: f.unit,
  ratio: null,
  goal: `<= ${f.limit} ${f.unit}`,
  met: f.ours <= f.limit,
  ...(f.note ? { note: f.note } : {}),
});

/** Two decimals, or two significant digits below 1, so a ratio of 0.003 does not print as 0. */
const round = (n: number): number => (Math.abs(n) >= 1 || n === 0 || !Number.isFinite(n) ? Math.round(n * 100) / 100 : Number(n.toPrecision(2)));

/** The result table as lines of text: one row per figure, then the notes. */
export const table = (figures: Figure[], title: string): string[] => {
  const rows = figures.map((f) => [
    f.figure,
    `${f.ours} ${f.unit}`,
    f.baseline === null ? '-' : `${f.baseline} ${f.unit}`,
    f.ratio === null ? 'n/a' : `${f.ratio}x`,
    f.goal,
    f.met === null ? '-' : f.met ? 'met' : 'MISSED',
  ]);
  const header = ['figure', 'ours', 'raw baseline', 'ratio', 'goal', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [
    '',
    title,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    ...figures.filter((f) => f.note).map((f) => `  note (${f.figure}): ${f.note}`),
  ];
};

export const RESULTS_DIR = join(__dirname, 'results');

export const report = (name: string, figures: Figure[]): void => {
  console.log(table(figures, name).join('\n'));
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), JSON.stringify({ name, at: new Date().toISOString(), figures }, null, 2));
};

/** Drops a benchmark's database; a failure is said (it leaves a database behind), not thrown over the result. */
export const dropDatabase = async (connection: { dropDatabase: () => Promise<unknown>; name?: string }): Promise<void> => {
  await connection.dropDatabase().catch((error: unknown) => console.error(`could not drop the benchmark database ${connection.name ?? ''}: ${String(error)}`));
};
