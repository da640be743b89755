// The `make bench` harness: each bench module measures vrouterd beside its baseline in the same run
// and returns rows; run.ts prints them as one table (and writes bench-results/latest.md).
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface BenchRow {
  /** What is measured, e.g. `Apply round trip, 10k hosts`. */
  readonly measurement: string;
  readonly unit: string;
  readonly vrouterd: number;
  /** The baseline measured in the same run, e.g. `{ name: 'iptables-legacy-restore', value: 0.28 }`. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** Lower is better for times, higher for rates; decides how the ratio reads. */
  readonly better: 'lower' | 'higher';
  readonly note?: string;
}

export interface BenchModule {
  readonly name: string;
  run(): Promise<BenchRow[]>;
}

/** How many times better vrouterd is than the baseline (>1 is better), whatever the unit. */
export function advantage(row: BenchRow): number | undefined {
  if (row.baseline === undefined || row.vrouterd === 0 || row.baseline.value === 0) return undefined;
  return row.better === 'lower' ? row.baseline.value / row.vrouterd : row.vrouterd / row.baseline.value;
}

/** CPU time (user + system, all threads) a process has used so far, in milliseconds. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/**
 * Every mode measured once per round for `rounds` rounds, the order reversed every other round so that
 * a neighbour's load does not always fall on the same mode; `measure` also puts the mode in place.
 */
export async function alternating<M extends string, T = number>(
  modes: readonly M[],
  rounds: number,
  measure: (mode: M) => Promise<T>,
): Promise<Record<M, T[]>> {
  const results = Object.fromEntries(modes.map((m) => [m, [] as T[]])) as Record<M, T[]>;
  for (let round = 0; round < rounds; round++)
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse())
      results[mode].push(await measure(mode));
  return results;
}

/**
 * Waits after a mode was put in place and before it is measured: a drift repair that reloads 20k set
 * elements leaves the kernel freeing the old ones (RCU) and the daemon collecting garbage on the
 * second core for a while, which a measurement right after would charge to the ruleset.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1500));
}

/** Two modes measured alternately, round by round: the median and range of their ratios, for a note. */
export function roundRatios(ours: readonly number[], theirs: readonly number[]): string {
  const ratios = ours.map((v, i) => v / (theirs[i] ?? Number.NaN)).sort((a, b) => a - b);
  return `round ratios median ${median(ratios).toFixed(2)} (${(ratios[0] ?? 0).toFixed(2)}–${(ratios.at(-1) ?? 0).toFixed(2)})`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}

export function renderTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| measurement | vrouterd | baseline | vrouterd advantage | note |',
    '| --- | ---: | --- | ---: | --- |',
  ];
  for (const r of rows) {
    const ratio = advantage(r);
    const baseline =
      r.baseline === undefined ? '-' : `${formatNumber(r.baseline.value)} ${r.unit} (${r.baseline.name})`;
    lines.push(
      `| ${r.measurement} | ${formatNumber(r.vrouterd)} ${r.unit} | ${baseline} | ${ratio === undefined ? '-' : `${formatNumber(ratio)}×`} | ${r.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}
