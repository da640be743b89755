// Validation of VIPs, SNAT, EIPs and port forwards. Each object is checked on its own against the NICs
// and networks, then against the others through a NatIndex (which VIP serves what); the same rules
// serve the full check here and the incremental one of a Patch (incremental.ts).
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type PortRange, TransportProtocol } from '../../gen/vrouter/v1/common_pb.js';
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import type { Eip, PortForward, Snat, Vip } from '../../gen/vrouter/v1/nat_pb.js';
import { checkId, checkIpv4, checkSubnet, checkText } from '../../config/fields.js';
import {
  type Ipv4Prefix,
  formatPrefix,
  isNetworkOrBroadcast,
  parseIpv4,
  prefixContains,
} from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';
import type { NetworkLookup } from '../networks/validate.js';

export const MAX_ALLOWED_SOURCES = 64;
const KNOWN_PROTOCOLS: readonly number[] = [TransportProtocol.TCP, TransportProtocol.UDP];

/** An inclusive port range with `end` resolved. */
export interface Ports {
  readonly start: number;
  readonly end: number;
}

/** Which VIP serves what, for the checks between objects. Keys are ids, private IPs as written. */
export interface NatIndex {
  readonly vips: Map<string, Vip>;
  /** VIP address → VIP id. */
  readonly vipIds: Map<string, string>;
  readonly eips: Map<string, Eip>;
  readonly eipByVip: Map<string, Eip>;
  readonly eipByPrivateIp: Map<string, Eip>;
  readonly forwards: Map<string, PortForward>;
  readonly forwardsByVip: Map<string, Set<PortForward>>;
  readonly ports: PortTable;
}

export function emptyIndex(): NatIndex {
  return {
    vips: new Map(),
    vipIds: new Map(),
    eips: new Map(),
    eipByVip: new Map(),
    eipByPrivateIp: new Map(),
    forwards: new Map(),
    forwardsByVip: new Map(),
    ports: new PortTable(),
  };
}

/**
 * The ports forwarded on each VIP and protocol: single ports in a map, ranges in a list, so a
 * conflict is found in O(1) for the usual single port, without comparing every forward of the VIP.
 */
export class PortTable {
  private readonly singles = new Map<string, Map<number, PortForward>>();
  private readonly ranges = new Map<string, Set<PortForward>>();

  conflict(pf: PortForward, ports: Ports): PortForward | undefined {
    const key = `${pf.vipId} ${pf.protocol}`;
    for (const other of this.ranges.get(key) ?? []) {
      const theirs = portsOf(other.vipPorts);
      if (other !== pf && theirs.start <= ports.end && ports.start <= theirs.end) return other;
    }
    const singles = this.singles.get(key);
    if (singles === undefined) return undefined;
    if (ports.end - ports.start < singles.size) {
      for (let port = ports.start; port <= ports.end; port++) {
        const other = singles.get(port);
        if (other !== undefined && other !== pf) return other;
      }
      return undefined;
    }
    for (const [port, other] of singles)
      if (other !== pf && port >= ports.start && port <= ports.end) return other;
    return undefined;
  }

  add(pf: PortForward): void {
    const key = `${pf.vipId} ${pf.protocol}`;
    const ports = portsOf(pf.vipPorts);
    if (ports.start === ports.end) {
      let singles = this.singles.get(key);
      if (singles === undefined) this.singles.set(key, (singles = new Map<number, PortForward>()));
      singles.set(ports.start, pf);
    } else {
      let ranges = this.ranges.get(key);
      if (ranges === undefined) this.ranges.set(key, (ranges = new Set()));
      ranges.add(pf);
    }
  }

  remove(pf: PortForward): void {
    const key = `${pf.vipId} ${pf.protocol}`;
    const ports = portsOf(pf.vipPorts);
    const singles = this.singles.get(key);
    if (ports.start === ports.end && singles?.get(ports.start) === pf) singles.delete(ports.start);
    this.ranges.get(key)?.delete(pf);
  }
}

/**
 * The config path of an object checked before, for the other side of a conflict (see
 * FieldViolation.otherSide); '-' where nobody reads it (the incremental check's scratch violations).
 */
export type PathOf = (o: Vip | Eip | PortForward) => string;

/** What the checks of one object need from the rest of the config. */
export interface NatScope {
  readonly nics: NicLookup;
  /** Each NIC's own addresses (see ownAddressesByNic). */
  readonly own: ReadonlyMap<string, ReadonlySet<string>>;
  readonly networks: NetworkLookup;
  /** Address → path of the host entry holding it, for every host of every network. */
  readonly hostIps: ReadonlyMap<number, string>;
}

export function hostAddresses(networks: NetworkLookup): Map<number, string> {
  const result = new Map<number, string>();
  for (const { network, path } of networks.values())
    network.hosts.forEach((h, j) => {
      const ip = parseIpv4(h.ip);
      if (ip !== undefined) result.set(ip, `${path}.hosts[${j}]`);
    });
  return result;
}

export function validateNat(config: RouterConfig, scope: NatScope, v: Violations): NatIndex {
  const index = emptyIndex();
  const paths = new Map<Vip | Eip | PortForward, string>();
  const pathOf: PathOf = (o) => paths.get(o) ?? '-';
  const vipIds = new UniqueKeys<string>(v, 'id');
  config.vips.forEach((vip, i) => {
    const path = `vips[${i}]`;
    paths.set(vip, path);
    const idOk = checkId(v, `${path}.id`, vip.id) && vipIds.claim(vip.id, `${path}.id`, `"${vip.id}"`);
    if (!checkVip(vip, path, scope, v) || !idOk) return;
    const other = index.vipIds.get(vip.ip);
    const first = other === undefined ? undefined : index.vips.get(other);
    if (other !== undefined)
      return v.add(`${path}.ip`, `${vip.ip} is also VIP "${other}"`, {
        field: `${first === undefined ? '-' : pathOf(first)}.ip`,
        description: `${vip.ip} is also VIP "${vip.id}"`,
      });
    index.vips.set(vip.id, vip);
    index.vipIds.set(vip.ip, vip.id);
  });

  const eipIds = new UniqueKeys<string>(v, 'id');
  config.eips.forEach((eip, i) => {
    const path = `eips[${i}]`;
    paths.set(eip, path);
    const idOk = checkId(v, `${path}.id`, eip.id) && eipIds.claim(eip.id, `${path}.id`, `"${eip.id}"`);
    if (checkEip(eip, path, scope, index, v, pathOf) && idOk) addEip(index, eip);
  });

  const forwardIds = new UniqueKeys<string>(v, 'id');
  config.portForwards.forEach((pf, i) => {
    const path = `port_forwards[${i}]`;
    paths.set(pf, path);
    const idOk = checkId(v, `${path}.id`, pf.id) && forwardIds.claim(pf.id, `${path}.id`, `"${pf.id}"`);
    if (checkPortForward(pf, path, scope, index, v, pathOf) && idOk) addForward(index, pf);
  });

  validateSnats(config, scope, index, v, pathOf);
  return index;
}

export function addEip(index: NatIndex, eip: Eip): void {
  index.eips.set(eip.id, eip);
  index.eipByVip.set(eip.vipId, eip);
  index.eipByPrivateIp.set(eip.privateIp, eip);
}

export function removeEip(index: NatIndex, eip: Eip): void {
  if (index.eips.get(eip.id) === eip) index.eips.delete(eip.id);
  if (index.eipByVip.get(eip.vipId) === eip) index.eipByVip.delete(eip.vipId);
  if (index.eipByPrivateIp.get(eip.privateIp) === eip) index.eipByPrivateIp.delete(eip.privateIp);
}

export function addForward(index: NatIndex, pf: PortForward): void {
  index.forwards.set(pf.id, pf);
  let set = index.forwardsByVip.get(pf.vipId);
  if (set === undefined) index.forwardsByVip.set(pf.vipId, (set = new Set()));
  set.add(pf);
  index.ports.add(pf);
}

export function removeForward(index: NatIndex, pf: PortForward): void {
  if (index.forwards.get(pf.id) === pf) index.forwards.delete(pf.id);
  const set = index.forwardsByVip.get(pf.vipId);
  set?.delete(pf);
  if (set?.size === 0) index.forwardsByVip.delete(pf.vipId);
  index.ports.remove(pf);
}

/**
 * A VIP on its own: NIC, address inside one of the NIC's subnets and free: not a network, broadcast,
 * gateway or host address (a gateway's ports are the router's own services: DNS, DHCP).
 */
export function checkVip(vip: Vip, path: string, scope: NatScope, v: Violations): boolean {
  const before = v.items.length;
  checkText(v, `${path}.description`, vip.description);
  const ip = checkIpv4(v, `${path}.ip`, vip.ip);
  if (vip.nicId === '') v.add(`${path}.nic_id`, 'required');
  const nic = scope.nics.get(vip.nicId);
  if (vip.nicId !== '' && nic === undefined) v.add(`${path}.nic_id`, `no NIC with id "${vip.nicId}"`);
  else if (nic !== undefined && nic.nic.role !== NicRole.PUBLIC && nic.nic.role !== NicRole.PRIVATE)
    v.add(`${path}.nic_id`, `NIC "${vip.nicId}" is not a public or private NIC`);
  else if (nic !== undefined && ip !== undefined) {
    const subnets = nicSubnets(vip.nicId, scope);
    const homes = subnets.filter((s) => prefixContains(s, ip));
    // Every subnet holding it counts: an address of a NIC's /16 may be a broadcast of a network's /24.
    const edge = homes.find((s) => isNetworkOrBroadcast(s, ip));
    const gatewayOf = [...scope.networks.values()].find((n) => n.gateway === ip);
    const host = scope.hostIps.get(ip);
    if (homes.length === 0)
      v.add(
        `${path}.ip`,
        `${vip.ip} is outside the subnets of NIC "${vip.nicId}"` +
          (subnets.length === 0 ? ' (it has none)' : ` (${subnets.map(formatPrefix).join(', ')})`),
      );
    else if (edge !== undefined)
      v.add(`${path}.ip`, `${vip.ip} is the network or broadcast address of ${formatPrefix(edge)}`);
    else if (gatewayOf !== undefined)
      v.add(`${path}.ip`, `${vip.ip} is the gateway of network "${gatewayOf.network.id}"`);
    else if (host !== undefined) v.add(`${path}.ip`, `${vip.ip} is the address of ${host}`);
  }
  return v.items.length === before;
}

/** The subnets a VIP on the NIC may come from: the NIC's addresses and its networks. */
function nicSubnets(nicId: string, scope: NatScope): Ipv4Prefix[] {
  const nic = scope.nics.get(nicId);
  const subnets: Ipv4Prefix[] = [...(nic?.addresses ?? [])];
  for (const n of scope.networks.values())
    if (n.network.nicId === nicId) subnets.push({ ...n.subnet, address: n.gateway });
  return subnets;
}

/** Each NIC's own addresses (interface addresses and the gateways of its networks), as written. */
export function ownAddressesByNic(config: RouterConfig): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  const add = (nicId: string, ip: string) => {
    let set = result.get(nicId);
    if (set === undefined) result.set(nicId, (set = new Set()));
    set.add(ip);
  };
  for (const nic of config.nics) for (const a of nic.addresses) add(nic.id, a.slice(0, a.indexOf('/')));
  for (const n of config.networks) add(n.nicId, n.gateway);
  return result;
}

export function checkEip(
  eip: Eip,
  path: string,
  scope: NatScope,
  index: NatIndex,
  v: Violations,
  pathOf: PathOf,
): boolean {
  const before = v.items.length;
  checkText(v, `${path}.description`, eip.description);
  checkPrivateTarget(eip.privateIp, `${path}.private_ip`, scope, v);
  const vip = lookupVip(eip.vipId, `${path}.vip_id`, index, v);
  if (vip !== undefined) {
    if (scope.nics.get(vip.nicId)?.nic.role !== NicRole.PUBLIC)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" is not on a public NIC`);
    else if (scope.own.get(vip.nicId)?.has(vip.ip) === true)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" (${vip.ip}) is an address of NIC "${vip.nicId}" itself`);
    const other = index.eipByVip.get(vip.id);
    if (other !== undefined && other !== eip)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" already carries EIP "${other.id}"`, {
        field: `${pathOf(other)}.vip_id`,
        description: `VIP "${vip.id}" already carries EIP "${eip.id}"`,
      });
  }
  const twin = index.eipByPrivateIp.get(eip.privateIp);
  if (twin !== undefined && twin !== eip)
    v.add(`${path}.private_ip`, `${eip.privateIp} already has EIP "${twin.id}"`, {
      field: `${pathOf(twin)}.private_ip`,
      description: `${eip.privateIp} already has EIP "${eip.id}"`,
    });
  return v.items.length === before;
}

export function checkPortForward(
  pf: PortForward,
  path: string,
  scope: NatScope,
  index: NatIndex,
  v: Violations,
  pathOf: PathOf,
): boolean {
  const before = v.items.length;
  checkText(v, `${path}.description`, pf.description);
  if (pf.protocol === TransportProtocol.UNSPECIFIED) v.add(`${path}.protocol`, 'required: TCP or UDP');
  else if (!KNOWN_PROTOCOLS.includes(pf.protocol))
    v.add(`${path}.protocol`, `unknown protocol ${String(pf.protocol)}`);
  const ports = checkPorts(pf.vipPorts, `${path}.vip_ports`, v);
  if (pf.privatePorts !== undefined && (pf.privatePorts.start !== 0 || pf.privatePorts.end !== 0)) {
    const target = checkPorts(pf.privatePorts, `${path}.private_ports`, v);
    if (ports !== undefined && target !== undefined && target.end - target.start !== ports.end - ports.start)
      v.add(
        `${path}.private_ports`,
        `${target.end - target.start + 1} ports, but vip_ports has ${ports.end - ports.start + 1}`,
      );
  }
  checkPrivateTarget(pf.privateIp, `${path}.private_ip`, scope, v);
  checkSources(pf.allowedSourceCidrs, `${path}.allowed_source_cidrs`, v);
  const vip = lookupVip(pf.vipId, `${path}.vip_id`, index, v);
  if (vip !== undefined) {
    const eip = index.eipByVip.get(vip.id);
    if (eip !== undefined)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" carries EIP "${eip.id}" and serves nothing else`, {
        field: `${pathOf(eip)}.vip_id`,
        description: `VIP "${vip.id}" serves port forwards; a VIP that carries an EIP serves nothing else`,
      });
    const other = ports === undefined ? undefined : index.ports.conflict(pf, ports);
    if (ports !== undefined && other !== undefined)
      v.add(
        `${path}.vip_ports`,
        `${showPorts(ports)}/${protocolName(pf.protocol)} on VIP "${vip.id}" overlaps port forward "${other.id}" (${showPorts(portsOf(other.vipPorts))})`,
        {
          field: `${pathOf(other)}.vip_ports`,
          description: `${showPorts(portsOf(other.vipPorts))}/${protocolName(pf.protocol)} on VIP "${vip.id}" overlaps port forward "${pf.id}" (${showPorts(ports)})`,
        },
      );
  }
  return v.items.length === before;
}

export function validateSnats(
  config: RouterConfig,
  scope: NatScope,
  index: NatIndex,
  v: Violations,
  pathOf: PathOf,
): void {
  const ids = new UniqueKeys<string>(v, 'id');
  const networksUsed = new UniqueKeys<string>(v, 'network');
  const system = systemVip(config);
  config.snats.forEach((snat: Snat, i) => {
    const path = `snats[${i}]`;
    if (checkId(v, `${path}.id`, snat.id)) ids.claim(snat.id, `${path}.id`, `"${snat.id}"`);
    if (snat.networkId === '') v.add(`${path}.network_id`, 'required');
    else if (!scope.networks.has(snat.networkId))
      v.add(`${path}.network_id`, `no network with id "${snat.networkId}"`);
    else
      networksUsed.claim(snat.networkId, `${path}.network_id`, `"${snat.networkId}" (one SNAT per network)`);
    if (snat.vipId === '') {
      if (system === undefined)
        v.add(`${path}.vip_id`, 'no public NIC has an address to serve as the system VIP; set vip_id');
      return;
    }
    const vip = lookupVip(snat.vipId, `${path}.vip_id`, index, v);
    if (vip === undefined) return;
    if (scope.nics.get(vip.nicId)?.nic.role !== NicRole.PUBLIC)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" is not on a public NIC`);
    const eip = index.eipByVip.get(vip.id);
    if (eip !== undefined)
      v.add(`${path}.vip_id`, `VIP "${vip.id}" carries EIP "${eip.id}" and serves nothing else`, {
        field: `${pathOf(eip)}.vip_id`,
        description: `VIP "${vip.id}" is the source of SNAT "${snat.id}"; a VIP that carries an EIP serves nothing else`,
      });
  });
}

/** The system VIP: the first address of the first public NIC, with the NIC's id. */
export function systemVip(config: RouterConfig): { ip: string; nicId: string } | undefined {
  for (const nic of config.nics) {
    if (nic.role !== NicRole.PUBLIC) continue;
    const first = nic.addresses[0];
    if (first !== undefined) return { ip: first.slice(0, first.indexOf('/')), nicId: nic.id };
  }
  return undefined;
}

function lookupVip(id: string, path: string, index: NatIndex, v: Violations): Vip | undefined {
  if (id === '') {
    v.add(path, 'required');
    return undefined;
  }
  const vip = index.vips.get(id);
  if (vip === undefined) v.add(path, `no valid VIP with id "${id}"`);
  return vip;
}

/** A VM address: inside a private network, not its network, broadcast or gateway address. */
function checkPrivateTarget(text: string, path: string, scope: NatScope, v: Violations): void {
  const ip = checkIpv4(v, path, text);
  if (ip === undefined) return;
  for (const n of scope.networks.values()) {
    if (!prefixContains(n.subnet, ip)) continue;
    if (isNetworkOrBroadcast(n.subnet, ip))
      v.add(path, `${text} is the network or broadcast address of ${formatPrefix(n.subnet)}`);
    else if (ip === n.gateway) v.add(path, `${text} is the gateway of network "${n.network.id}"`);
    return;
  }
  v.add(path, `${text} is not inside any private network`);
}

function checkPorts(range: PortRange | undefined, path: string, v: Violations): Ports | undefined {
  if (range === undefined || range.start === 0) {
    v.add(`${path}.start`, 'required: a port 1-65535');
    return undefined;
  }
  if (range.start > 65535) {
    v.add(`${path}.start`, `${range.start} is out of range 1-65535`);
    return undefined;
  }
  if (range.end !== 0 && (range.end < range.start || range.end > 65535)) {
    v.add(`${path}.end`, `${range.end} is out of range ${range.start}-65535 (or 0 for a single port)`);
    return undefined;
  }
  return portsOf(range);
}

function checkSources(cidrs: readonly string[], path: string, v: Violations): void {
  if (cidrs.length > MAX_ALLOWED_SOURCES)
    v.add(path, `${cidrs.length} entries; at most ${MAX_ALLOWED_SOURCES} are allowed`);
  const seen = new UniqueKeys<string>(v, 'CIDR');
  cidrs.forEach((cidr, j) => {
    if (checkSubnet(v, `${path}[${j}]`, cidr) !== undefined) seen.claim(cidr, `${path}[${j}]`);
  });
}

export function portsOf(range: PortRange | undefined): Ports {
  const start = range?.start ?? 0;
  return { start, end: range === undefined || range.end === 0 ? start : range.end };
}

export function showPorts(p: Ports): string {
  return p.start === p.end ? String(p.start) : `${p.start}-${p.end}`;
}

export function protocolName(p: TransportProtocol): string {
  return p === TransportProtocol.TCP ? 'tcp' : p === TransportProtocol.UDP ? 'udp' : `protocol ${p}`;
}
