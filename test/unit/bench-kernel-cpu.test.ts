import t from 'tap';
import { cpuByPart, cpuNote, cpuRow, medianOf, per } from '../bench/kernel-cpu.js';

// A trimmed `perf report --no-children --sort sym --stdio -n` listing as perf 6.x prints it.
const REPORT = `# Samples: 31K of event 'cpu-clock:ppp'
#
# Overhead       Samples  Symbol
# ........  ............  ..........................
#
     2.69%           838  [k] pv_native_safe_halt
     1.74%           542  [k] nft_do_chain
     0.82%           255  [.] Builtins_KeyedStoreIC
     0.40%           124  [k] pipapo_get_avx2
     0.38%           118  [k] __nf_conntrack_find_get
     0.25%            78  [k] nf_nat_inet_fn
     0.09%            27  [k] jhash
     0.05%            16  [k] nft_pipapo_avx2_lookup
     0.03%             9  [.] v8::internal::(anonymous namespace)::Invoke

#
# (Tip: use perf report --children)
`;

t.test('perf samples are summed by part and turned into microseconds at 999 Hz, idle left out', async (t) => {
  const cpu = cpuByPart(REPORT);
  const us = (samples: number) => (samples * 1e6) / 999;
  t.equal(cpu.nftables, us(542 + 124 + 27 + 16), 'nf_tables functions, set backends included');
  t.equal(cpu.conntrack, us(118 + 78), 'conntrack and NAT core');
  t.equal(cpu.all, us(542 + 255 + 124 + 118 + 78 + 27 + 16 + 9), 'every busy sample, user space too');
});

t.test('user-space symbols that look like kernel ones are not counted as the kernel', async (t) => {
  const cpu = cpuByPart('     1.00%           100  [.] nft_do_chain\n');
  t.equal(cpu.nftables, 0);
  t.equal(cpu.all, (100 * 1e6) / 999);
});

t.test('CPU is divided among the work done and compared part by part', async (t) => {
  const window = { nftables: 300, conntrack: 600, all: 30_000 };
  t.same(per(window, 100), { nftables: 3, conntrack: 6, all: 300 }, 'per unit of work');
  const ours = [per(window, 100), per(window, 50), per(window, 200)];
  t.equal(medianOf(ours, 'nftables'), 3, 'the middle of three runs');
  t.equal(
    cpuNote(ours, [{ nftables: 1, conntrack: 6, all: 280 }], 'µs'),
    'of which nf_tables (rules, set lookups): 3.0 µs vs 1.0 µs, conntrack + NAT: 6.0 µs vs 6.0 µs',
  );
});

t.test('a CPU row reads "not measured" when perf could not run, and never a made-up figure', async (t) => {
  const row = cpuRow({ measurement: 'm', unit: 'µs', baseline: 'b', ours: [], theirs: [] });
  t.ok(Number.isNaN(row.vrouterd) && Number.isNaN(row.baseline?.value ?? 0), 'no numbers');
  t.match(row.note, /not measured: perf record does not work here/);
  const measured = cpuRow({
    measurement: 'm',
    unit: 'µs',
    baseline: 'b',
    ours: [{ nftables: 3, conntrack: 6, all: 300 }],
    theirs: [{ nftables: 1, conntrack: 6, all: 280 }],
  });
  t.equal(measured.vrouterd, 300);
  t.equal(measured.baseline?.value, 280);
  t.match(
    measured.note,
    /^median of 1 runs sampled 3 s each .*nf_tables \(rules, set lookups\): 3\.0 µs vs 1\.0 µs/,
  );
});
