// The `interfaces` apply step: links up, MTUs, addresses, IP forwarding, through netlink and sysctl.
import type { Netlink } from '../../drivers/netlink.js';
import { readSysctl, writeSysctl } from '../../drivers/sysctl.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import type { Rendered } from '../../reconcile/rendered.js';
import { type LinkChange, type ObservedLink, describeChange, diffInterfaces } from './diff.js';
import { EMPTY_INTERFACE_PLAN, type InterfacePlan } from './plan.js';

/** A router forwards: both families, whatever else the config says. */
const FORWARDING = ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding'];

export class InterfacesStep implements ApplyStep {
  readonly name = 'interfaces';

  constructor(private readonly netlink: Netlink) {}

  async apply(desired: Rendered, previous: Rendered): Promise<StepChange> {
    return this.converge(desired.interfaces, previous.interfaces);
  }

  async rollback(previous: Rendered, attempted: Rendered): Promise<StepChange> {
    return this.converge(previous.interfaces, attempted.interfaces);
  }

  async repair(desired: Rendered): Promise<StepChange> {
    return this.converge(desired.interfaces, EMPTY_INTERFACE_PLAN);
  }

  async drift(desired: Rendered): Promise<string[]> {
    const changes = diffInterfaces(desired.interfaces, EMPTY_INTERFACE_PLAN, await this.observe());
    const sysctls = await this.forwardingOff();
    return [...changes.map(describeChange), ...sysctls.map((p) => `${p} is 0, set to 1`)];
  }

  private async converge(desired: InterfacePlan, previous: InterfacePlan): Promise<StepChange> {
    const changes = diffInterfaces(desired, previous, await this.observe());
    // Deletions first: an address moving between NICs must leave one before it joins the other.
    const ordered = [
      ...changes.filter((c) => c.kind === 'delete'),
      ...changes.filter((c) => c.kind !== 'delete'),
    ];
    for (const change of ordered) await this.carryOut(change);
    const sysctls = await this.forwardingOff();
    for (const path of sysctls) await writeSysctl(path, '1');
    const summary = [...ordered.map(describeChange), ...sysctls.map((p) => `${p} set to 1`)];
    return { changed: summary.length > 0, summary: summary.join('; ') };
  }

  private async carryOut(change: LinkChange): Promise<void> {
    try {
      switch (change.kind) {
        case 'up':
          return await this.netlink.setUp(change.index);
        case 'mtu':
          return await this.netlink.setMtu(change.index, change.to);
        case 'add':
          return await this.netlink.addAddress(change.index, change.cidr);
        case 'delete':
          return await this.netlink.deleteAddress(change.index, change.cidr);
      }
    } catch (e) {
      throw new Error(`${describeChange(change)}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }

  private async observe(): Promise<Map<number, ObservedLink>> {
    const [links, addresses] = await Promise.all([this.netlink.links(), this.netlink.addresses()]);
    const observed = new Map<number, ObservedLink>();
    for (const l of links) {
      const own = addresses.filter((a) => a.index === l.index && a.global).map((a) => a.cidr);
      observed.set(l.index, { index: l.index, name: l.name, mtu: l.mtu, up: l.up, addresses: own });
    }
    return observed;
  }

  private async forwardingOff(): Promise<string[]> {
    const values = await Promise.all(FORWARDING.map(readSysctl));
    return FORWARDING.filter((_, i) => values[i] !== '1');
  }
}
