// The VPC firewall at its limit: two rule sets of 9999 custom rules (the public NIC's inbound set and
// an outbound set on network A's NIC), measured in the lab beside baselines in the same run:
// - applying them: the Apply round trip and the nftables step alone, against iptables-legacy-restore
//   loading the same rules as linear chains; then adding one rule (a Patch) against iptables-legacy
//   inserting one rule into the loaded chains;
// - established forwarding (iperf3 TCP, the internet to vm1 routed through both sets) against the same
//   router without its firewall table (NAT and conntrack still there: what the rules cost), and
//   against no ruleset at all (no conntrack either: what a stateful router costs);
// - new-connection rate (many short TCP connections, every SYN judged by both sets) against the same
//   rules as linear iptables chains, and against no ruleset.
// Modes are measured alternately, round by round, and the medians compared; the machine is shared,
// so rates move with its load. The CPU each mode spends per gigabyte and per connection, sampled by
// perf and split into nf_tables and conntrack code, moves much less (kernel-cpu.ts).
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import {
  Direction,
  FirewallAction,
  FirewallProtocol,
  FirewallRuleSchema,
  FirewallSchema,
  type FirewallRule,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { inNamespace, ip, spawnInNamespace } from '../lab/exec.js';
import { LabDaemon } from '../lab/daemon.js';
import { serve } from '../lab/traffic.js';
import { labConfig } from '../lab/lab-config.js';
import { Topology } from '../lab/topology.js';
import { benchRules, iptablesLine } from './firewall-rules.js';
import { type BenchModule, type BenchRow, alternating, median, roundRatios, settle } from './harness.js';
import { SAMPLE_SECONDS, cpuRow, per, perfWorks, sampled } from './kernel-cpu.js';

const RULES = 9999;
const APPLY_ROUNDS = 5;
const REPEATS = 5;
const IPERF_REPEATS = 8;
const PATCH_ROUNDS = 7;
/** Each rate sample: this long, connections opened and reset as fast as they complete. */
const RATE_SECONDS = 4;
const CONCURRENCY = 32;
const IPERF_SECONDS = '3';
/** Runs of each mode under `perf record` (what the rules' own code costs, apart from the noise). */
const CPU_ROUNDS = 3;
const VM1 = '10.1.0.11';
const CONN_RATE = fileURLToPath(new URL('./conn-rate.js', import.meta.url));

/** The lab's traffic (the internet host to vm1 on 80 and iperf3's 5201): the last custom rule. */
function allowBenchTraffic(prefix: string): FirewallRule {
  return create(FirewallRuleSchema, {
    id: `${prefix}-allow-bench`,
    priority: 2999,
    action: FirewallAction.ACCEPT,
    protocol: FirewallProtocol.TCP,
    sourceAddresses: ['203.0.113.1'],
    destinationAddresses: [VM1],
    destinationPorts: [{ start: 80 }, { start: 5201 }],
  });
}

function benchSets(round: number): { inbound: FirewallRule[]; outbound: FirewallRule[] } {
  const prefix = `r${round}`;
  return {
    inbound: [...benchRules(`${prefix}-in`, RULES - 1, 1), allowBenchTraffic(prefix)],
    outbound: benchRules(`${prefix}-out`, RULES, 2),
  };
}

function configWithSets(round: number): RouterConfig {
  const config = labConfig();
  const { inbound, outbound } = benchSets(round);
  config.firewall = create(FirewallSchema, {
    ruleSets: [
      { id: 'pub0.in', description: 'bench inbound', rules: inbound },
      { id: 'bench-out', description: 'bench outbound', rules: outbound },
    ],
    attachments: [{ nicId: 'priv-a', direction: Direction.OUT, ruleSetId: 'bench-out' }],
  });
  return config;
}

/** The same rules as linear iptables chains: established first, then one chain per set. */
function iptablesRuleset(round: number): string {
  const { inbound, outbound } = benchSets(round);
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':fw-pub0-in - [0:0]',
    ':fw-bench-out - [0:0]',
    '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -i ens5 -j fw-pub0-in',
    '-A FORWARD -o ens3 -j fw-bench-out',
    ...inbound.map((r) => iptablesLine('fw-pub0-in', r)),
    '-A fw-pub0-in -j DROP',
    ...outbound.map((r) => iptablesLine('fw-bench-out', r)),
    'COMMIT',
    '',
  ].join('\n');
}

const EMPTY_IPTABLES = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

const bench: BenchModule = {
  name: 'firewall',
  async run() {
    const topology = await Topology.create();
    const daemon = await LabDaemon.start(topology.router);
    const rt = topology.router;
    const [vm1] = topology.vms;
    if (vm1 === undefined) throw new Error('the lab has no vm1');
    try {
      await inNamespace(topology.internet, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
      await inNamespace(topology.internet, 'sysctl', ['-qw', 'net.ipv4.tcp_tw_reuse=1']);
      await ip('-n', topology.internet, 'route', 'add', '10.1.0.0/24', 'via', '203.0.113.2');
      await daemon.client.apply({ config: labConfig() });

      // Apply: a different pair of sets every round (the ids change), so every round loads 2 × 9999;
      // each round also loads the same rules with iptables-legacy-restore, so both meet the same load.
      const applyMs: number[] = [];
      const nftMs: number[] = [];
      const iptMs: number[] = [];
      for (let round = 0; round < APPLY_ROUNDS; round++) {
        const config = configWithSets(round);
        const started = process.hrtime.bigint();
        const response = await daemon.client.apply({ config });
        applyMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        const step = response.results.find((r) => r.step === 'nftables');
        nftMs.push(Number(step?.durationUs ?? 0n) / 1000);
        const text = iptablesRuleset(round);
        const restoreStarted = process.hrtime.bigint();
        await inNamespace(rt, 'iptables-legacy-restore', [], { input: text });
        iptMs.push(Number(process.hrtime.bigint() - restoreStarted) / 1e6);
      }
      const lastRound = APPLY_ROUNDS - 1;

      // One rule changed (its source): a Patch of the inbound set of 9999, beside one iptables-legacy
      // replace in the loaded chains (legacy iptables rewrites the whole table for any change).
      const patchMs: number[] = [];
      const replaceMs: number[] = [];
      const { inbound } = benchSets(lastRound);
      for (let i = 0; i < PATCH_ROUNDS; i++) {
        const index = 1000 * i + 17;
        const original = inbound[index];
        if (original === undefined) throw new Error(`no rule ${index}`);
        const rule = { ...original, sourceAddresses: [`198.51.100.${i + 1}`] };
        const started = process.hrtime.bigint();
        await daemon.client.patch({
          operations: [{ operation: { case: 'putFirewallRule', value: { ruleSetId: 'pub0.in', rule } } }],
        });
        patchMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        const line = iptablesLine('fw-pub0-in', rule).replace('-A fw-pub0-in', `-R fw-pub0-in ${index + 1}`);
        const replaceStarted = process.hrtime.bigint();
        await inNamespace(rt, 'iptables-legacy', line.split(' '));
        replaceMs.push(Number(process.hrtime.bigint() - replaceStarted) / 1e6);
      }

      // Forwarding and connection rate, modes alternating. The daemon's rules of the last round stay
      // committed; "unfiltered" deletes its firewall table behind its back (the NAT table stays),
      // "bare" flushes the whole ruleset, and a drift check puts everything back.
      await serve(vm1.ns, 'serve-tcp', 80);
      spawnInNamespace(vm1.ns, 'iperf3', ['-s']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const mode = async (which: 'vrouterd' | 'unfiltered' | 'bare' | 'iptables') => {
        await inNamespace(rt, 'iptables-legacy-restore', [], { input: EMPTY_IPTABLES });
        await daemon.client.checkDrift();
        if (which === 'bare') await inNamespace(rt, 'nft', ['flush', 'ruleset']);
        else if (which !== 'vrouterd') await inNamespace(rt, 'nft', ['delete', 'table', 'inet', 'vrouter']);
        if (which === 'iptables')
          await inNamespace(rt, 'iptables-legacy-restore', [], { input: iptablesRuleset(lastRound) });
        await settle();
      };
      const iperf = async (seconds = IPERF_SECONDS) => {
        const { stdout } = await inNamespace(topology.internet, 'iperf3', ['-c', VM1, '-t', seconds, '-J'], {
          timeoutMs: 30_000,
        });
        const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
        return report.end.sum_received.bits_per_second / 1e9;
      };
      const rate = async () => {
        const { stdout } = await inNamespace(
          topology.internet,
          process.execPath,
          [CONN_RATE, VM1, '80', String(RATE_SECONDS), String(CONCURRENCY)],
          { timeoutMs: 120_000 },
        );
        const result = JSON.parse(stdout) as { rate: number; done: number; failed: number };
        if (result.failed > 0)
          throw new Error(`${result.failed} of ${result.done + result.failed} connections failed`);
        return result.rate;
      };
      const throughput = await alternating(
        ['vrouterd', 'unfiltered', 'bare'] as const,
        IPERF_REPEATS,
        async (which) => {
          await mode(which);
          return iperf();
        },
      );
      const rates = await alternating(
        ['vrouterd', 'unfiltered', 'iptables'] as const,
        REPEATS,
        async (which) => {
          await mode(which);
          return rate();
        },
      );
      // The same, sampled by perf: CPU per gigabyte and per connection by part.
      const profiled = await perfWorks();
      const forwardingCpu = await alternating(
        ['vrouterd', 'unfiltered'] as const,
        profiled ? CPU_ROUNDS : 0,
        async (which) => {
          await mode(which);
          const { result: gbits, cpu } = await sampled(() => iperf(String(SAMPLE_SECONDS + 1)));
          return per(cpu, ((gbits * SAMPLE_SECONDS) / 8) * 1000); // ms per GB
        },
      );
      const connectionCpu = await alternating(
        ['vrouterd', 'unfiltered'] as const,
        profiled ? CPU_ROUNDS : 0,
        async (which) => {
          await mode(which);
          const { result: perSecond, cpu } = await sampled(rate);
          return per(cpu, perSecond * SAMPLE_SECONDS);
        },
      );
      await mode('vrouterd');

      const restore = { name: 'iptables-legacy-restore, same rules as linear chains', value: median(iptMs) };
      return [
        {
          measurement: 'Apply 2 × 9999 firewall rules: Apply round trip',
          unit: 'ms',
          vrouterd: median(applyMs),
          baseline: restore,
          better: 'lower',
          note: `median of ${APPLY_ROUNDS}; validate, render, compile, one nft transaction (all tables), fsync`,
        },
        {
          measurement: 'Apply 2 × 9999 firewall rules: the nftables step alone',
          unit: 'ms',
          vrouterd: median(nftMs),
          baseline: restore,
          better: 'lower',
          note: 'one libnftables transaction: chains of blocks + counting sets',
        },
        {
          measurement: 'Change one rule of a set of 9999 (2 × 9999 loaded): Patch round trip',
          unit: 'ms',
          vrouterd: median(patchMs),
          baseline: { name: 'iptables-legacy -R in the loaded chains', value: median(replaceMs) },
          better: 'lower',
          note: `median of ${PATCH_ROUNDS}; validate the changed rule (ids all), compile the changed set only, element changes only, fsync`,
        },
        {
          measurement: 'Established forwarding, iperf3 TCP through both sets of 9999',
          unit: 'Gbit/s',
          vrouterd: median(throughput.vrouterd),
          baseline: {
            name: 'the same router without its firewall table',
            value: median(throughput.unfiltered),
          },
          better: 'higher',
          note: `median of ${IPERF_REPEATS} × ${IPERF_SECONDS} s, modes alternating; ${roundRatios(throughput.vrouterd, throughput.unfiltered)}; goal ≥ 0.95×`,
        },
        {
          measurement: 'Established forwarding, iperf3 TCP, the whole router (NAT, conntrack, firewall)',
          unit: 'Gbit/s',
          vrouterd: median(throughput.vrouterd),
          baseline: { name: 'no ruleset at all (no conntrack)', value: median(throughput.bare) },
          better: 'higher',
          note: `the price of being stateful; ${roundRatios(throughput.vrouterd, throughput.bare)}`,
        },
        cpuRow({
          measurement:
            'CPU per GB forwarded (iperf3) through both sets of 9999, the whole machine (iperf3 both ends, kernel), by perf',
          unit: 'ms/GB',
          baseline: 'the same router without its firewall table',
          ours: forwardingCpu.vrouterd,
          theirs: forwardingCpu.unfiltered,
        }),
        {
          measurement: 'New TCP connections/s judged by 2 × 9999 rules',
          unit: 'conn/s',
          vrouterd: median(rates.vrouterd),
          baseline: { name: 'iptables-legacy, same rules as linear chains', value: median(rates.iptables) },
          better: 'higher',
          note: `median of ${REPEATS} runs of ${RATE_SECONDS} s, ${CONCURRENCY} in flight, Node client; ${roundRatios(rates.vrouterd, rates.iptables)}`,
        },
        {
          measurement: 'New TCP connections/s judged by 2 × 9999 rules',
          unit: 'conn/s',
          vrouterd: median(rates.vrouterd),
          baseline: { name: 'the same router without its firewall table', value: median(rates.unfiltered) },
          better: 'higher',
          note: `the price of the rules; ${roundRatios(rates.vrouterd, rates.unfiltered)}`,
        },
        cpuRow({
          measurement:
            'CPU per new connection judged by 2 × 9999 rules, the whole machine (client, server, kernel), by perf',
          unit: 'µs',
          baseline: 'the same router without its firewall table',
          ours: connectionCpu.vrouterd,
          theirs: connectionCpu.unfiltered,
        }),
      ] satisfies BenchRow[];
    } finally {
      await daemon.destroy();
      topology.destroySync();
    }
  },
};
export default bench;
