// The `interfaces` apply step: links up, MTUs, addresses (VIPs included), IP forwarding and source
// validation, through netlink and sysctl. Every IPv4 address it adds is announced with a gratuitous ARP.
//
// A write whose links are unchanged (a Patch adding an EIP with its VIP, an Apply of the same NICs)
// does not read the kernel's addresses (10k VIPs make that dump cost ~70–90 ms): the VIPs that differ
// from the plan the kernel holds (the Patch's delta, or both plans compared) are added or removed,
// nothing else. Like the nftables step's diff, it trusts that the kernel holds the last plan; the
// drift check (which always observes) repairs what was changed behind the daemon's back. Anything
// else goes the full way: observe, diff, converge.
import type { GratuitousArp } from '../../drivers/arp.js';
import { type Netlink, rejectedWith } from '../../drivers/netlink.js';
import { readSysctl, writeSysctl } from '../../drivers/sysctl.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import type { Rendered } from '../../reconcile/rendered.js';
import { deltaSince } from '../../reconcile/revision.js';
import {
  type LinkChange,
  type ObservedLink,
  type VipDelta,
  describeChange,
  diffInterfaces,
  diffVips,
} from './diff.js';
import { EMPTY_INTERFACE_PLAN, type InterfacePlan } from './plan.js';

/** A kernel parameter the step holds at a value. */
interface Setting {
  readonly path: string;
  readonly value: string;
}

/**
 * A router forwards: both families, and IPv4 on each of its NICs (the kernel decides by the NIC a
 * packet came in on: one NIC set to 0 by hand cuts its networks off), whatever else the config
 * says; ip_forward comes first, as writing it sets every NIC's forwarding.
 * Its NICs validate sources in loose mode (RFC 3704): a packet whose source has no route back, or
 * is one of the router's own addresses, is dropped, and asymmetric paths (OSPF, several uplinks)
 * still work. Without loose mode the kernel checks each routed packet's source against the
 * router's own addresses in a table of 256 buckets: with 10k VIPs, a walk of ~40 addresses a packet
 * (~16 µs of CPU per connection measured through an EIP, more than the whole ruleset costs), where
 * loose mode costs one route lookup.
 */
function settingsOf(plan: InterfacePlan): Setting[] {
  return [
    { path: 'net/ipv4/ip_forward', value: '1' },
    { path: 'net/ipv6/conf/all/forwarding', value: '1' },
    ...plan.links.flatMap((l) => [
      { path: `net/ipv4/conf/${l.name}/forwarding`, value: '1' },
      { path: `net/ipv4/conf/${l.name}/rp_filter`, value: '2' },
    ]),
  ];
}

export class InterfacesStep implements ApplyStep {
  readonly name = 'interfaces';

  private announced = 0;

  constructor(
    private readonly netlink: Netlink,
    private readonly arp: GratuitousArp,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  async apply(desired: Rendered, previous: Rendered): Promise<StepChange> {
    const next = desired.interfaces;
    const before = previous.interfaces;
    if (before !== EMPTY_INTERFACE_PLAN && sameLinks(next, before)) {
      if (next.vips === before.vips) return { changed: false, summary: '' };
      return this.changeVips(deltaSince(next.vips, before.vips) ?? diffVips(before.vips, next.vips));
    }
    return this.converge(next, before);
  }

  counters(): Record<string, number> {
    return { gratuitous_arps: this.announced };
  }

  private async changeVips(delta: VipDelta): Promise<StepChange> {
    const summary: string[] = [];
    for (const vip of delta.removed) {
      const change: LinkChange = { kind: 'delete', index: vip.index, name: vip.link, cidr: `${vip.ip}/32` };
      await this.carryOut(change, 'EADDRNOTAVAIL');
      summary.push(`${vip.link}: VIP ${vip.ip} removed`);
    }
    for (const vip of delta.added) {
      const change: LinkChange = { kind: 'add', index: vip.index, name: vip.link, cidr: `${vip.ip}/32` };
      await this.carryOut(change, 'EEXIST');
      this.announce(vip.index, vip.mac, vip.ip);
      summary.push(`${vip.link}: VIP ${vip.ip} added`);
    }
    return { changed: summary.length > 0, summary: summary.join('; ') };
  }

  async rollback(previous: Rendered, attempted: Rendered): Promise<StepChange> {
    return this.converge(previous.interfaces, attempted.interfaces);
  }

  async repair(desired: Rendered): Promise<StepChange> {
    return this.converge(desired.interfaces, EMPTY_INTERFACE_PLAN);
  }

  async drift(desired: Rendered): Promise<string[]> {
    const changes = diffInterfaces(desired.interfaces, EMPTY_INTERFACE_PLAN, await this.observe());
    const settings = await this.settingsOff(desired.interfaces);
    return [
      ...changes.map(describeChange),
      ...settings.map((s) => `${s.path} is ${s.current}, set to ${s.value}`),
    ];
  }

  private async converge(desired: InterfacePlan, previous: InterfacePlan): Promise<StepChange> {
    const changes = diffInterfaces(desired, previous, await this.observe());
    // Deletions first: an address moving between NICs must leave one before it joins the other.
    const ordered = [
      ...changes.filter((c) => c.kind === 'delete'),
      ...changes.filter((c) => c.kind !== 'delete'),
    ];
    const macs = new Map(desired.links.map((l) => [l.index, l.mac]));
    for (const change of ordered) {
      await this.carryOut(change);
      const mac = macs.get(change.index);
      if (change.kind === 'add' && mac !== undefined && !change.cidr.includes(':'))
        this.announce(change.index, mac, change.cidr.slice(0, change.cidr.indexOf('/')));
    }
    const settings = await this.settingsOff(desired);
    for (const { path, value } of settings) await writeSysctl(path, value);
    const summary = [...ordered.map(describeChange), ...settings.map((s) => `${s.path} set to ${s.value}`)];
    return { changed: summary.length > 0, summary: summary.join('; ') };
  }

  /** A lost announcement only delays neighbours' caches: it is logged, never fatal. */
  private announce(index: number, mac: string, ip: string): void {
    try {
      this.arp.announce(index, mac, ip);
      this.announced++;
    } catch (err) {
      this.log.warn({ err, ip }, 'gratuitous ARP failed');
    }
  }

  /** Carries out one change; `tolerated` is the errno that means it is already done. */
  private async carryOut(change: LinkChange, tolerated?: string): Promise<void> {
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
      if (tolerated !== undefined && rejectedWith(e) === tolerated) return;
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

  /** The settings the kernel does not hold, with what it holds. */
  private async settingsOff(plan: InterfacePlan): Promise<(Setting & { current: string })[]> {
    const settings = settingsOf(plan);
    const values = await Promise.all(settings.map((s) => readSysctl(s.path)));
    return settings.flatMap((s, i) => {
      const current = values[i] ?? '';
      return current === s.value ? [] : [{ ...s, current }];
    });
  }
}

/** The same links with the same MTUs and own addresses (VIPs aside). */
function sameLinks(a: InterfacePlan, b: InterfacePlan): boolean {
  return a.links === b.links || JSON.stringify(a.links) === JSON.stringify(b.links);
}
