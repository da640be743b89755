import t from 'tap';
import { cpuByPart } from '../bench/kernel-cpu.js';

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

t.test('perf samples are summed by part and turned into microseconds at 999 Hz', async (t) => {
  const cpu = cpuByPart(REPORT);
  const us = (samples: number) => (samples * 1e6) / 999;
  t.equal(cpu.nftables, us(542 + 124 + 27 + 16), 'nf_tables functions, set backends included');
  t.equal(cpu.conntrack, us(118 + 78), 'conntrack and NAT core');
  t.equal(cpu.all, us(838 + 542 + 255 + 124 + 118 + 78 + 27 + 16 + 9), 'every sample, user space too');
});

t.test('user-space symbols that look like kernel ones are not counted as the kernel', async (t) => {
  const cpu = cpuByPart('     1.00%           100  [.] nft_do_chain\n');
  t.equal(cpu.nftables, 0);
  t.equal(cpu.all, (100 * 1e6) / 999);
});
