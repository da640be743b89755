// Where the kernel's CPU goes while a measurement runs, by `perf record -a` (Debian's linux-perf):
// the samples of nf_tables' own functions (rule evaluation, set lookups) and of conntrack and NAT's,
// each turned into CPU time. Rates through the router move ±15 % with the load of a shared machine;
// the CPU a ruleset itself spends per connection does not, so it tells what the ruleset costs apart
// from how busy the neighbours were.
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../lab/exec.js';
import { type BenchRow, median } from './harness.js';

const HZ = 999;
/** The sampled window: from half a second into a measurement (past its start-up), three seconds. */
const DELAY_SECONDS = 0.5;
export const SAMPLE_SECONDS = 3;
// jhash: what nf_tables' hash sets hash with (the router's other hot paths use their own hashes).
const NFTABLES = /^(nft_|__nft_|nf_tables_|pipapo_|jhash)/;
/** Where a sample lands when its CPU had nothing to do (halted, in a VM, or the idle loop). */
const IDLE =
  /^(pv_native_safe_halt|native_safe_halt|default_idle|default_idle_call|do_idle|cpuidle_|acpi_idle|intel_idle|poll_idle|mwait_idle)/;
const CONNTRACK =
  /^(nf_conntrack|__nf_conntrack|nf_ct_|__nf_ct_|nf_nat|__nf_nat|hash_conntrack|nf_confirm|ipv4_conntrack)/;

/** CPU time in microseconds, by part; `all` is every CPU's busy time (user space included, idle not). */
export interface KernelCpu {
  readonly nftables: number;
  readonly conntrack: number;
  readonly all: number;
}

/** A row's note when `perf record` could not run. */
const NOT_PROFILED = 'not measured: perf record does not work here (Debian package linux-perf)';

/** Whether `perf record` works here (installed, and the kernel lets it sample every CPU). */
export async function perfWorks(): Promise<boolean> {
  const file = join(tmpdir(), `vrouterd-perf-check-${process.pid}.data`);
  try {
    await run('perf', ['record', '-a', '-F', String(HZ), '-o', file, '--', 'sleep', '0.1']);
    return true;
  } catch {
    return false;
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Samples every CPU for SAMPLE_SECONDS from DELAY_SECONDS into `measure` (which must run longer), and
 * returns what `measure` returned with the CPU time of each part in that window.
 */
export async function sampled<T>(measure: () => Promise<T>): Promise<{ result: T; cpu: KernelCpu }> {
  const file = join(tmpdir(), `vrouterd-perf-${process.pid}-${Date.now()}.data`);
  let timer: NodeJS.Timeout | undefined;
  let perf: ChildProcess | undefined;
  try {
    const recording = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        perf = spawn(
          'perf',
          ['record', '-a', '-F', String(HZ), '-o', file, '--', 'sleep', String(SAMPLE_SECONDS)],
          {
            stdio: 'ignore',
          },
        );
        perf.once('error', reject);
        perf.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`perf record exited ${code}`)),
        );
      }, DELAY_SECONDS * 1000);
    });
    const [result] = await Promise.all([measure(), recording]);
    const report = await run(
      'perf',
      ['report', '-i', file, '--no-children', '--sort', 'sym', '--stdio', '-n'],
      {
        timeoutMs: 120_000,
      },
    );
    return { result, cpu: cpuByPart(report.stdout) };
  } finally {
    // A measurement that failed leaves no recording behind to write the file after it is removed.
    clearTimeout(timer);
    if (perf !== undefined && perf.exitCode === null && perf.signalCode === null) {
      const exited = new Promise((resolve) => perf?.once('exit', resolve));
      perf.kill();
      await exited;
    }
    await rm(file, { force: true });
  }
}

/** The window's CPU divided among the units of work done in it (connections, gigabytes). */
export function per(cpu: KernelCpu, units: number): KernelCpu {
  return { nftables: cpu.nftables / units, conntrack: cpu.conntrack / units, all: cpu.all / units };
}

export function medianOf(samples: readonly KernelCpu[], part: keyof KernelCpu): number {
  return median(samples.map((s) => s[part]));
}

/** A table row: the whole machine's CPU per unit of work in two modes, with their parts in the note. */
export function cpuRow(row: {
  readonly measurement: string;
  readonly unit: string;
  readonly baseline: string;
  readonly ours: readonly KernelCpu[];
  readonly theirs: readonly KernelCpu[];
  readonly remark?: string;
}): BenchRow {
  const measured = row.ours.length > 0 && row.theirs.length > 0;
  return {
    measurement: row.measurement,
    unit: row.unit,
    vrouterd: measured ? medianOf(row.ours, 'all') : Number.NaN,
    baseline: { name: row.baseline, value: measured ? medianOf(row.theirs, 'all') : Number.NaN },
    better: 'lower',
    note: measured
      ? `median of ${row.ours.length} runs sampled ${SAMPLE_SECONDS} s each (perf record -a), modes alternating; ${cpuNote(row.ours, row.theirs, row.unit)}${row.remark ?? ''}`
      : NOT_PROFILED,
  };
}

/** The figures of a note comparing two modes part by part, `unit` after each. */
export function cpuNote(ours: readonly KernelCpu[], theirs: readonly KernelCpu[], unit: string): string {
  const pair = (part: keyof KernelCpu) =>
    `${medianOf(ours, part).toFixed(1)} ${unit} vs ${medianOf(theirs, part).toFixed(1)} ${unit}`;
  return `of which nf_tables (rules, set lookups): ${pair('nftables')}, conntrack + NAT: ${pair('conntrack')}`;
}

/** Sums a `perf report --sort sym -n` listing by part, in microseconds of CPU. */
export function cpuByPart(report: string): KernelCpu {
  let nftables = 0;
  let conntrack = 0;
  let all = 0;
  for (const line of report.split('\n')) {
    // "     1.74%           542  [k] nft_do_chain"
    const m = /^\s+[\d.]+%\s+(\d+)\s+\[(.)\]\s+(\S+)/.exec(line);
    if (m === null) continue;
    const samples = Number(m[1]);
    const symbol = m[3] ?? '';
    const kernel = m[2] === 'k';
    if (kernel && IDLE.test(symbol)) continue;
    all += samples;
    if (!kernel) continue;
    if (NFTABLES.test(symbol)) nftables += samples;
    else if (CONNTRACK.test(symbol)) conntrack += samples;
  }
  const us = (samples: number) => (samples * 1e6) / HZ;
  return { nftables: us(nftables), conntrack: us(conntrack), all: us(all) };
}
