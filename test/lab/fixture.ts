// A lab topology with vrouterd running in it, torn down when the tap test ends (pass or fail).
import type { Test } from 'tap';
import { type DaemonOptions, LabDaemon } from './daemon.js';
import { Topology, type TopologyOptions } from './topology.js';

export interface LabFixture {
  readonly topology: Topology;
  readonly daemon: LabDaemon;
}

export async function labWithDaemon(
  t: Test,
  options: { topology?: TopologyOptions; daemon?: DaemonOptions } = {},
): Promise<LabFixture> {
  const topology = await Topology.create(options.topology);
  t.teardown(() => topology.destroySync());
  const daemon = await LabDaemon.start(topology.router, options.daemon);
  t.teardown(async () => {
    if (t.passing()) await daemon.destroy();
    else {
      t.comment(`vrouterd log tail:\n${daemon.logTail()}`);
      await daemon.destroy();
    }
  });
  return { topology, daemon };
}
