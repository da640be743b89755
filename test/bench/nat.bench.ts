// NAT at scale, each measurement beside its baseline in the same run (lab namespaces, real daemon):
// - full Apply of 10k EIPs + 10k port forwards (their VIPs already on the NIC) vs
//   iptables-legacy-restore of the same 30k rules (set elements over netlink, and through libnftables);
// - one EIP added or removed by Patch while 10k exist (gRPC round trip, p99, from a gRPC C-core
//   client (python3-grpcio, patch-rounds.py) and from a Node one (patch-rounds.ts)): set elements over
//   netlink, through libnftables in process and `nft` per change, vs the zvr way (iptables-save,
//   edit, iptables-restore the table); beside it the floors under it on this machine: a Patch that
//   changes nothing (gRPC and the daemon's queue alone) and fdatasync of a journal-sized append;
// - new connections per second public → VM through an EIP with all of it loaded, vs no ruleset at
//   all, vs a minimal hand-written nft NAT (one DNAT map, one SNAT map: what conntrack + NAT alone
//   cost) and vs the same NAT as 30k linear iptables-legacy rules (the matching rule last); the modes
//   alternate round by round so that a neighbour's load falls on all of them alike; then the CPU
//   a connection costs, sampled by perf, beside the minimal NAT's (kernel-cpu.ts).
import { open } from 'node:fs/promises';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIpv4, parseIpv4 } from '../../daemon/src/config/net.js';
import { RouterClient } from '../../daemon/src/cli/client.js';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import {
  type PatchRequest,
  PatchRequestSchema,
  PatchResponseSchema,
} from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { LabDaemon } from '../lab/daemon.js';
import { inNamespace, ip, removeNamespaceSync, run } from '../lab/exec.js';
import { serve } from '../lab/traffic.js';
import { Topology } from '../lab/topology.js';
import {
  type BenchModule,
  type BenchRow,
  alternating,
  median,
  percentile,
  processCpuMs,
  roundRatios,
  settle,
} from './harness.js';
import { type KernelCpu, SAMPLE_SECONDS, cpuRow, per, perfWorks, sampled } from './kernel-cpu.js';
import { INTERNET_IN_BENCH_SUBNET, benchConfig, eipVip } from './nat-config.js';
import { benchPatches } from './patch-requests.js';

const N = 10_000;
/** Measured add + remove rounds, after unmeasured ones that let V8 compile both processes' paths. */
const PATCH_ROUNDS = 250;
const PATCH_WARMUP_ROUNDS = 150;
/** Whole-table rewrites the zvr way, for its median and its slowest. */
const ZVR_ROUNDS = 20;
const RATE_SECONDS = '4';
/** Alternating rounds of the connection rate: on a shared machine rates move ×1.5 within minutes. */
const RATE_ROUNDS = 8;
/** Rounds of the connection rate under `perf record` (what the ruleset's own code costs a connection). */
const CPU_ROUNDS = 3;
/** Drift checks and NAT status reads of everything loaded, each way. */
const READ_ROUNDS = 5;
/** The first Apply after start runs code V8 has not optimized yet: its time is shown in the note. */
const APPLY_ROUNDS = 5;
const CONN_RATE = fileURLToPath(new URL('./conn-rate.js', import.meta.url));
const PATCH_ROUNDS_SCRIPT = fileURLToPath(new URL('./patch-rounds.js', import.meta.url));
const PATCH_ROUNDS_PY = fileURLToPath(new URL('../../../test/bench/patch-rounds.py', import.meta.url));
/** Debian's python, where python3-grpcio is (not whichever python3 comes first in PATH). */
const SYSTEM_PYTHON = '/usr/bin/python3';
const NO_C_CORE = "not measured: needs Debian's python3-grpcio";
const SERVER_PORT = 9999;
const SETTLE_MS = 3000;

const ms = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;
const p99 = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    99,
  );

/** The same NAT as iptables-legacy-restore input: PF DNAT, EIP DNAT (vm1's last), EIP SNAT. */
function iptablesRules(): string {
  const config = benchConfig(N, N, 1);
  const vip = new Map(config.vips.map((v) => [v.id, v.ip]));
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
  ];
  for (const pf of config.portForwards)
    lines.push(
      `-A PREROUTING -d ${vip.get(pf.vipId) ?? ''}/32 -p tcp --dport ${pf.vipPorts?.start ?? 0} -j DNAT --to-destination ${pf.privateIp}:22`,
    );
  for (const e of config.eips)
    lines.push(`-A PREROUTING -d ${vip.get(e.vipId) ?? ''}/32 -j DNAT --to-destination ${e.privateIp}`);
  for (const e of config.eips)
    lines.push(`-A POSTROUTING -s ${e.privateIp}/32 -o ens5 -j SNAT --to-source ${vip.get(e.vipId) ?? ''}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The same EIPs as the least nft can do: one DNAT map, one SNAT map, no counters, no firewall. */
function minimalNftNat(): string {
  const config = benchConfig(N, N, 1);
  const vip = new Map(config.vips.map((v) => [v.id, v.ip]));
  const pairs = config.eips.map((e) => [vip.get(e.vipId) ?? '', e.privateIp] as const);
  return [
    'table ip bench_minimal_nat {',
    `  map dnat_to { type ipv4_addr : ipv4_addr; elements = { ${pairs.map(([v, p]) => `${v} : ${p}`).join(', ')} }; }`,
    `  map snat_to { type ipv4_addr : ipv4_addr; elements = { ${pairs.map(([v, p]) => `${p} : ${v}`).join(', ')} }; }`,
    '  chain prerouting { type nat hook prerouting priority dstnat; dnat to ip daddr map @dnat_to; }',
    '  chain postrouting { type nat hook postrouting priority srcnat; snat to ip saddr map @snat_to; }',
    '}',
    '',
  ].join('\n');
}

async function connRate(ns: string, host: string): Promise<number> {
  const r = await inNamespace(
    ns,
    process.execPath,
    [CONN_RATE, host, String(SERVER_PORT), RATE_SECONDS, '64'],
    {
      timeoutMs: 60_000,
    },
  );
  return (JSON.parse(r.stdout) as { rate: number }).rate;
}

/** CPU per completed connection by part, over a sampled connection-rate run. */
async function cpuPerConnection(ns: string, host: string): Promise<KernelCpu> {
  const { result: rate, cpu } = await sampled(() => connRate(ns, host));
  return per(cpu, rate * SAMPLE_SECONDS);
}

interface PatchTimes {
  readonly adds: number[];
  readonly removes: number[];
  /** The first call of the client: connection set-up and code not yet compiled. */
  readonly first: number;
  /** In `unchanged` mode, the hex of the PatchResponses to a put before and after the rounds. */
  readonly heldBefore: string;
  readonly heldAfter: string;
}

type PatchMode = 'change' | 'unchanged';

/** Every measured call of a client's rounds, adds and removes together. */
const calls = (times: PatchTimes) => [...times.adds, ...times.removes];

/**
 * Patch rounds in a client process of its own (`command args… ROUNDS WARMUP mode`); `unchanged`:
 * each Patch puts an EIP already there, measured as such only if none of them made a new generation.
 */
async function clientRounds(command: string, args: string[], mode: PatchMode): Promise<PatchTimes> {
  const r = await run(command, [...args, String(PATCH_ROUNDS), String(PATCH_WARMUP_ROUNDS), mode], {
    timeoutMs: 300_000,
  });
  const times = JSON.parse(r.stdout) as PatchTimes;
  const generation = (response: string) =>
    fromBinary(PatchResponseSchema, Buffer.from(response, 'hex')).generation;
  if (
    mode === 'unchanged' &&
    (times.heldBefore === '' || generation(times.heldBefore) !== generation(times.heldAfter))
  )
    throw new Error(`putting the same EIP again moved the generation (${command})`);
  return times;
}

/** Patch rounds from the Node client (patch-rounds.ts). */
function patchRounds(daemon: LabDaemon, vipId: string, mode: PatchMode = 'change'): Promise<PatchTimes> {
  return clientRounds(process.execPath, [PATCH_ROUNDS_SCRIPT, daemon.socket, vipId], mode);
}

/** Whether Debian's python3-grpcio (gRPC C-core) is there for the C-core client's rounds. */
async function cCoreClientWorks(): Promise<boolean> {
  try {
    await run(SYSTEM_PYTHON, ['-c', 'import grpc']);
    return true;
  } catch {
    return false;
  }
}

/** The same rounds from the gRPC C-core client (patch-rounds.py), the requests encoded here. */
function cCorePatchRounds(daemon: LabDaemon, vipId: string, mode: PatchMode): Promise<PatchTimes> {
  const { put, remove } = benchPatches(vipId);
  const hex = (request: PatchRequest) => Buffer.from(toBinary(PatchRequestSchema, request)).toString('hex');
  return clientRounds(SYSTEM_PYTHON, [PATCH_ROUNDS_PY, daemon.socket, hex(put), hex(remove)], mode);
}

/** Full Applies of every EIP and forward, from a config with the VIPs alone: round trips and nft step. */
async function applyRounds(
  daemon: LabDaemon,
  withoutNat: RouterConfig,
): Promise<{ times: number[]; nftStep: number }> {
  const times: number[] = [];
  let nftStep = 0;
  for (let round = 0; round < APPLY_ROUNDS; round++) {
    // An Apply folds the journal into config.json after it returns: let that finish first.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const config = benchConfig(N, N, 1);
    const started = process.hrtime.bigint();
    const response = await daemon.client.apply({ config });
    times.push(ms(started));
    nftStep = Number(response.results.find((r) => r.step === 'nftables')?.durationUs ?? 0n) / 1000;
    await daemon.client.apply({ config: withoutNat });
  }
  return { times, nftStep };
}

interface ReadTimes {
  readonly drift: number[];
  readonly status: number[];
  /** The daemon's CPU (user + system) over the drift checks, per check. */
  readonly driftCpuMs: number;
}

/** Drift checks (none finding anything) and NAT status reads with everything loaded: round trips. */
async function readRounds(daemon: LabDaemon): Promise<ReadTimes> {
  const drift: number[] = [];
  const status: number[] = [];
  const cpuBefore = processCpuMs(daemon.pid ?? 0);
  for (let round = 0; round < READ_ROUNDS; round++) {
    const started = process.hrtime.bigint();
    const { repaired } = await daemon.client.checkDrift();
    drift.push(ms(started));
    if (repaired.length > 0)
      throw new Error(`a drift check of the loaded config repaired: ${JSON.stringify(repaired)}`);
  }
  const driftCpuMs = (processCpuMs(daemon.pid ?? 0) - cpuBefore) / READ_ROUNDS;
  for (let round = 0; round < READ_ROUNDS; round++) {
    const started = process.hrtime.bigint();
    await daemon.client.getNatStatus();
    status.push(ms(started));
  }
  return { drift, status, driftCpuMs };
}

/** fdatasync of a 200-byte append, what every journaled Patch waits for, on the state directory's disk. */
async function fdatasyncTimes(dir: string): Promise<number[]> {
  const file = await open(join(dir, 'fsync-probe'), 'a');
  const times: number[] = [];
  try {
    for (let i = 0; i < 2 * PATCH_ROUNDS; i++) {
      const started = process.hrtime.bigint();
      await file.write(Buffer.alloc(200));
      await file.datasync();
      times.push(ms(started));
    }
  } finally {
    await file.close();
  }
  return times;
}

const bench: BenchModule = {
  name: 'nat',
  async run() {
    const topology = await Topology.create();
    const scratch = `${topology.prefix}ipt`;
    let daemon: LabDaemon | undefined;
    try {
      const rt = topology.router;
      const inet = topology.internet;
      const vm1 = topology.vms[0];
      if (vm1 === undefined) throw new Error('no vm1');
      await serve(vm1.ns, 'serve-tcp', SERVER_PORT);
      await ip('-n', inet, 'addr', 'add', INTERNET_IN_BENCH_SUBNET, 'dev', 'eth0');

      // Without a ruleset the client goes straight to the VM (the daemon routes, nothing translates).
      await ip('-n', inet, 'route', 'add', '10.1.0.0/16', 'via', '203.0.113.2');

      // The VIPs first (the kernel needs seconds to put 10k addresses on one NIC), then the NAT.
      daemon = await LabDaemon.start(rt, { nicWaitSeconds: 5 });
      const withoutNat = benchConfig(N, N, 1);
      withoutNat.eips = [];
      withoutNat.portForwards = [];
      const full = benchConfig(N, N, 1);
      // Adding 10k addresses to one NIC takes the kernel itself seconds (O(n²)): a patient client.
      const patient = new RouterClient({ socket: daemon.socket }, 600_000);
      const vipsStarted = process.hrtime.bigint();
      await patient.apply({ config: withoutNat });
      const vipsMs = ms(vipsStarted);
      patient.close();
      const netlinkApply = await applyRounds(daemon, withoutNat);
      await daemon.client.apply({ config: full });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const spareVip = `v${N}`;
      const netlink = await patchRounds(daemon, spareVip);
      const noop = await patchRounds(daemon, spareVip, 'unchanged');
      const cCore = (await cCoreClientWorks())
        ? {
            change: await cCorePatchRounds(daemon, spareVip, 'change'),
            unchanged: await cCorePatchRounds(daemon, spareVip, 'unchanged'),
          }
        : undefined;
      const syncs = await fdatasyncTimes(daemon.stateDir);
      const netlinkReads = await readRounds(daemon);

      // Connection rates, modes alternating; the VIP addresses stay on the NIC in all of them. The
      // linear iptables mode comes last: a legacy nat table, once made, hooks conntrack in for good.
      const minimal = minimalNftNat();
      const loaded = daemon;
      const modes = {
        vrouterd: async () => {
          await loaded.client.checkDrift();
          return eipVip(N - 1);
        },
        empty: async () => vm1.ip,
        minimal: async () => {
          await inNamespace(rt, 'nft', ['-f', '-'], { input: minimal });
          return eipVip(N - 1);
        },
      };
      const rates = await alternating(
        ['vrouterd', 'empty', 'minimal'] as const,
        RATE_ROUNDS,
        async (which) => {
          await inNamespace(rt, 'nft', ['flush', 'ruleset']);
          const target = await modes[which]();
          await settle();
          return connRate(inet, target);
        },
      );
      const profiled = await perfWorks();
      const cpu = await alternating(
        ['vrouterd', 'minimal'] as const,
        profiled ? CPU_ROUNDS : 0,
        async (which) => {
          await inNamespace(rt, 'nft', ['flush', 'ruleset']);
          const target = await modes[which]();
          await settle();
          return cpuPerConnection(inet, target);
        },
      );
      await inNamespace(rt, 'nft', ['flush', 'ruleset']);
      await loaded.client.checkDrift();

      // The same daemon and state with set elements through libnftables, then `nft` per change.
      await daemon.stop();
      daemon = await LabDaemon.start(rt, { nicWaitSeconds: 5, nftElements: 'backend' }, daemon.stateDir);
      const libApply = await applyRounds(daemon, withoutNat);
      await daemon.client.apply({ config: full });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const lib = await patchRounds(daemon, spareVip);
      const libReads = await readRounds(daemon);
      await daemon.stop();
      daemon = await LabDaemon.start(
        rt,
        { nicWaitSeconds: 5, nftBackend: 'exec', nftElements: 'backend' },
        daemon.stateDir,
      );
      const exec = await patchRounds(daemon, spareVip);
      await daemon.stop();

      // Baselines with iptables-legacy: the same NAT as 30k rules.
      const rules = iptablesRules();
      await ip('netns', 'add', scratch);
      let started = process.hrtime.bigint();
      await inNamespace(scratch, 'iptables-legacy-restore', [], { input: rules });
      const restoreMs = ms(started);
      const zvr: number[] = [];
      for (let i = 0; i < ZVR_ROUNDS; i++) {
        started = process.hrtime.bigint();
        const saved = (await inNamespace(scratch, 'iptables-legacy-save', ['-t', 'nat'])).stdout;
        const edited = saved.replace(
          /\nCOMMIT/,
          `\n-A PREROUTING -d ${formatIpv4((parseIpv4('100.64.90.0') ?? 0) + i)}/32 -j DNAT --to-destination 10.1.250.250\nCOMMIT`,
        );
        await inNamespace(scratch, 'iptables-legacy-restore', ['-T', 'nat'], { input: edited });
        zvr.push(ms(started));
      }

      await inNamespace(rt, 'nft', ['flush', 'ruleset']);
      await inNamespace(rt, 'iptables-legacy-restore', [], { input: rules });
      const linearRates: number[] = [];
      for (let round = 0; round < 3; round++) linearRates.push(await connRate(inet, eipVip(N - 1)));
      const linearRate = median(linearRates);

      const netlinkAll = calls(netlink);
      const libAll = calls(lib);
      const execAll = calls(exec);
      const noopAll = calls(noop);
      const cCoreAll = cCore ? calls(cCore.change) : [];
      const cCoreNoopAll = cCore ? calls(cCore.unchanged) : [];
      const zvrBaseline = {
        name: 'zvr way: iptables-legacy-save, edit, iptables-legacy-restore (median)',
        value: median(zvr),
      };
      return [
        {
          measurement: `Full Apply of ${N / 1000}k EIPs + ${N / 1000}k port forwards (VIPs on the NIC), median of ${APPLY_ROUNDS}`,
          unit: 'ms',
          vrouterd: median(netlinkApply.times),
          baseline: { name: 'iptables-legacy-restore of the same 30k rules', value: restoreMs },
          better: 'lower',
          note: `gRPC round trip: validate, render, one transaction of set elements over netlink (${netlinkApply.nftStep.toFixed(0)} ms in the last), snapshot; the first, cold: ${(netlinkApply.times[0] ?? 0).toFixed(0)} ms`,
        },
        {
          measurement: 'Same full Apply, set elements through libnftables (`--nft-elements backend`)',
          unit: 'ms',
          vrouterd: median(netlinkApply.times),
          baseline: { name: 'libnftables JSON', value: median(libApply.times) },
          better: 'lower',
          note: `nft step ${libApply.nftStep.toFixed(0)} ms through libnftables vs ${netlinkApply.nftStep.toFixed(0)} ms over netlink`,
        },
        {
          measurement: `Apply of the ${N / 1000}k VIPs alone (addresses on one NIC, from none)`,
          unit: 'ms',
          vrouterd: vipsMs,
          better: 'lower',
          note: 'netlink, one address at a time, plus a gratuitous ARP each; the kernel cost grows with the count',
        },
        {
          measurement: `One EIP added or removed by Patch, ${N / 1000}k EIPs loaded, p99 of ${2 * PATCH_ROUNDS}, from a gRPC C-core client`,
          unit: 'ms',
          vrouterd: p99(cCoreAll),
          baseline: zvrBaseline,
          better: 'lower',
          note: cCore
            ? `python3-grpcio over the console socket; median ${median(cCoreAll).toFixed(2)} ms; add p99 ${p99(cCore.change.adds).toFixed(1)}, remove p99 ${p99(cCore.change.removes).toFixed(1)} (clears conntrack); set elements over netlink; after ${2 * PATCH_WARMUP_ROUNDS} unmeasured calls; zvr way slowest of ${ZVR_ROUNDS}: ${Math.max(...zvr).toFixed(0)} ms`
            : NO_C_CORE,
        },
        {
          measurement: 'Same Patch from the C-core client, median',
          unit: 'ms',
          vrouterd: median(cCoreAll),
          baseline: zvrBaseline,
          better: 'lower',
          note: cCore ? `median of ${cCoreAll.length}, like with like` : NO_C_CORE,
        },
        {
          measurement: `Same Patch from a Node client (@grpc/grpc-js, as vrouterctl), p99 of ${2 * PATCH_ROUNDS}`,
          unit: 'ms',
          vrouterd: p99(netlinkAll),
          baseline: zvrBaseline,
          better: 'lower',
          note: `median ${median(netlinkAll).toFixed(2)} ms (${(median(zvr) / median(netlinkAll)).toFixed(0)}× the zvr way's); add p99 ${p99(netlink.adds).toFixed(1)}, remove p99 ${p99(netlink.removes).toFixed(1)}; the client's very first call: ${netlink.first.toFixed(1)} ms`,
        },
        {
          measurement: 'Same Patch (Node client), median: set elements over netlink vs through libnftables',
          unit: 'ms',
          vrouterd: median(netlinkAll),
          baseline: { name: 'libnftables in process (median)', value: median(libAll) },
          better: 'lower',
          note: `p99 ${p99(netlinkAll).toFixed(1)} ms vs ${p99(libAll).toFixed(1)} ms`,
        },
        {
          measurement: 'The same EIP put again, a Patch that changes nothing, from the C-core client, p99',
          unit: 'ms',
          vrouterd: p99(cCoreNoopAll),
          better: 'lower',
          note: `${cCore ? `median ${median(cCoreNoopAll).toFixed(2)} ms` : NO_C_CORE}; from the Node client p99 ${p99(noopAll).toFixed(2)}, median ${median(noopAll).toFixed(2)} ms: gRPC over the console socket, the write queue, build and validate, no kernel, no disk; the floor under every Patch on this machine`,
        },
        {
          measurement: 'fdatasync of a 200-byte journal append on this disk, p99',
          unit: 'ms',
          vrouterd: p99(syncs),
          better: 'lower',
          note: `median ${median(syncs).toFixed(2)} ms: the floor under every durable Patch on this shared disk`,
        },
        {
          measurement: `Same Patch with the exec transport (\`nft -j\` process per change), median`,
          unit: 'ms',
          vrouterd: median(execAll),
          baseline: { name: 'libnftables in process (median)', value: median(libAll) },
          better: 'lower',
          note: `exec p99 ${p99(execAll).toFixed(1)} ms; below 1× means in process wins`,
        },
        {
          measurement: `Drift check with ${N / 1000}k EIPs + ${N / 1000}k forwards loaded (CheckDrift round trip), median of ${READ_ROUNDS}`,
          unit: 'ms',
          vrouterd: median(netlinkReads.drift),
          baseline: {
            name: "set elements read from libnftables' JSON listing (`--nft-elements backend`)",
            value: median(libReads.drift),
          },
          better: 'lower',
          note: `70k set elements read back over netlink and compared one by one, besides the addresses, links and the other steps; the daemon's CPU per check ${netlinkReads.driftCpuMs.toFixed(0)} ms vs ${libReads.driftCpuMs.toFixed(0)} ms (a check runs every 30 s)`,
        },
        {
          measurement:
            'show nat: EIPs, forwards and SNAT with their counters (GetNatStatus round trip), median',
          unit: 'ms',
          vrouterd: median(netlinkReads.status),
          baseline: {
            name: "counters read from libnftables' JSON listing",
            value: median(libReads.status),
          },
          better: 'lower',
          note: `median of ${READ_ROUNDS}; 20k counted elements, each found by the object its comment names`,
        },
        {
          measurement: `New TCP connections/s public → VM through an EIP, ${N / 1000}k EIPs + ${N / 1000}k forwards`,
          unit: 'conn/s',
          vrouterd: median(rates.vrouterd),
          baseline: { name: 'no ruleset at all, straight to the VM', value: median(rates.empty) },
          better: 'higher',
          note: `median of ${RATE_ROUNDS} × ${RATE_SECONDS} s, modes alternating, 64 in flight, Node client; ${roundRatios(rates.vrouterd, rates.empty)}`,
        },
        {
          measurement:
            'New TCP connections/s through an EIP: vrouterd (NAT + firewall + counters) vs the least nft NAT',
          unit: 'conn/s',
          vrouterd: median(rates.vrouterd),
          baseline: {
            name: 'hand-written nft: one DNAT map, one SNAT map, 10k each',
            value: median(rates.minimal),
          },
          better: 'higher',
          note: `${roundRatios(rates.vrouterd, rates.minimal)}; conntrack and NAT alone (the least nft NAT vs no ruleset): ${(median(rates.minimal) / median(rates.empty)).toFixed(2)}×, ${roundRatios(rates.minimal, rates.empty)}`,
        },
        cpuRow({
          measurement:
            'CPU per new connection through an EIP, the whole machine (clients, server, kernel), by perf',
          unit: 'µs',
          baseline: 'the least nft NAT (one DNAT map, one SNAT map)',
          ours: cpu.vrouterd,
          theirs: cpu.minimal,
          remark: ": the ruleset's own code is the steady part of the difference",
        }),
        {
          measurement: 'New TCP connections/s, same NAT as 30k linear iptables-legacy rules (match last)',
          unit: 'conn/s',
          vrouterd: median(rates.vrouterd),
          baseline: { name: 'iptables-legacy linear rules', value: linearRate },
          better: 'higher',
          note: `linear/empty = ${(linearRate / median(rates.empty)).toFixed(2)}×`,
        },
      ] satisfies BenchRow[];
    } finally {
      await daemon?.destroy();
      removeNamespaceSync(scratch);
      topology.destroySync();
    }
  },
};
export default bench;
