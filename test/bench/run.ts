// `make bench [BENCH=name,…]`: runs every test/bench/*.bench.js module (or the named ones) and prints
// one table of vrouterd beside its baselines, with the machine it ran on.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { type BenchModule, type BenchRow, renderTable } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = (process.env['BENCH'] ?? '').split(',').filter(Boolean);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.js')).sort();
const rows: BenchRow[] = [];
for (const file of files) {
  const module = ((await import(join(here, file))) as { default: BenchModule }).default;
  if (only.length > 0 && !only.includes(module.name)) continue;
  process.stderr.write(`bench ${module.name} …\n`);
  rows.push(...(await module.run()));
}
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.versions.node}`;
const report = `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n\n${renderTable(rows)}\n`;
process.stdout.write(`\n${report}`);
const out = fileURLToPath(new URL('../../../bench-results/', import.meta.url));
await mkdir(out, { recursive: true });
await writeFile(join(out, 'latest.md'), report);
