// Apply round trip (gRPC call until the data plane holds it) for configs of 10, 1k and 10k hosts,
// against the real daemon in a lab namespace. The baseline is the same daemon applying the
// smallest config: how the cost grows with the number of objects.
import { create } from '@bufbuild/protobuf';
import { HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { formatIpv4, parseIpv4 } from '../../daemon/src/config/net.js';
import { LabDaemon } from '../lab/daemon.js';
import { labConfig } from '../lab/lab-config.js';
import { Topology } from '../lab/topology.js';
import { type BenchModule, type BenchRow, percentile } from './harness.js';

const SIZES = [10, 1000, 10000];
const ROUNDS = 15;

/** The lab config with network A widened to a /16 holding `count` hosts. */
export function configWithHosts(count: number, salt: number): RouterConfig {
  const config = labConfig();
  const network = config.networks[0];
  if (network === undefined) throw new Error('the lab config has no network');
  network.cidr = '10.1.0.0/16';
  const base = parseIpv4('10.1.1.0') ?? 0;
  network.hosts = Array.from({ length: count }, (_, i) =>
    create(HostSchema, {
      id: `host-${i}`,
      mac: `02:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:${(salt & 255).toString(16).padStart(2, '0')}`,
      ip: formatIpv4(base + i),
      hostname: `vm-${i}-${salt}`,
    }),
  );
  return config;
}

const bench: BenchModule = {
  name: 'apply',
  async run() {
    const topology = await Topology.create();
    const daemon = await LabDaemon.start(topology.router);
    try {
      const medians = new Map<number, number>();
      for (const size of SIZES) {
        const times: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          // A different config every round (names change), so every Apply really applies.
          const config = configWithHosts(size, round);
          const started = process.hrtime.bigint();
          await daemon.client.apply({ config });
          times.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        medians.set(
          size,
          percentile(
            times.sort((a, b) => a - b),
            50,
          ),
        );
      }
      const smallest = medians.get(SIZES[0] ?? 10) ?? Number.NaN;
      return SIZES.map((size): BenchRow => ({
        measurement: `Apply round trip, ${size} hosts (median of ${ROUNDS})`,
        unit: 'ms',
        vrouterd: medians.get(size) ?? Number.NaN,
        baseline: { name: `same daemon, ${SIZES[0] ?? 10} hosts`, value: smallest },
        better: 'lower',
        note: 'gRPC over the console socket; validate, render, netlink + nft, fsync',
      }));
    } finally {
      await daemon.destroy();
      topology.destroySync();
    }
  },
};
export default bench;
