// Validation of private networks and their hosts: subnets that do not overlap, a gateway inside the
// subnet, hosts with unique MACs, IPs and names inside it.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import type { Network } from '../../gen/vrouter/v1/networks_pb.js';
import {
  checkDomain,
  checkId,
  checkIpv4,
  checkIpv6,
  checkIpv6Subnet,
  checkMac,
  checkSubnet,
} from '../../config/fields.js';
import {
  type Ipv4Prefix,
  type Ipv6Prefix,
  formatIpv4,
  formatPrefix,
  ipv6PrefixContains,
  isDnsLabel,
  isNetworkOrBroadcast,
  prefixContains,
  prefixesOverlap,
} from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';

/** Smallest network that still has room for a gateway and a host. */
const LONGEST_PREFIX = 30;

export interface ValidNetwork {
  readonly network: Network;
  readonly path: string;
  readonly subnet: Ipv4Prefix;
  readonly gateway: number;
}

/** The networks that passed validation, by id. */
export type NetworkLookup = ReadonlyMap<string, ValidNetwork>;

export function validateNetworks(config: RouterConfig, nics: NicLookup, v: Violations): NetworkLookup {
  const networks = new Map<string, ValidNetwork>();
  const ids = new UniqueKeys<string>(v, 'id');
  const hostIds = new UniqueKeys<string>(v, 'host id');
  const nicsUsed = new UniqueKeys<string>(v, 'NIC');
  const valid: ValidNetwork[] = [];

  config.networks.forEach((network, i) => {
    const path = `networks[${i}]`;
    const idOk =
      checkId(v, `${path}.id`, network.id) && ids.claim(network.id, `${path}.id`, `"${network.id}"`);
    checkNic(network, path, nics, nicsUsed, v);
    if (network.domain !== '') checkDomain(v, `${path}.domain`, network.domain);

    const subnet = checkSubnet(v, `${path}.cidr`, network.cidr);
    if (subnet !== undefined && subnet.prefix > LONGEST_PREFIX)
      v.add(
        `${path}.cidr`,
        `/${subnet.prefix} leaves no room for a gateway and hosts; use /${LONGEST_PREFIX} or shorter`,
      );
    else if (subnet !== undefined) checkOverlaps(subnet, path, network.nicId, valid, nics, v);

    const gateway = checkIpv4(v, `${path}.gateway`, network.gateway);
    if (subnet !== undefined && gateway !== undefined && !insideUsable(subnet, gateway))
      v.add(`${path}.gateway`, `${network.gateway} is not a usable address of ${formatPrefix(subnet)}`);

    const subnet6 = checkIpv6Side(network, path, v);
    network.hosts.forEach((host, j) => {
      const hpath = `${path}.hosts[${j}]`;
      if (checkId(v, `${hpath}.id`, host.id)) hostIds.claim(host.id, `${hpath}.id`, `"${host.id}"`);
    });
    checkHosts(network, path, subnet, gateway, subnet6, v);

    if (idOk && subnet !== undefined && gateway !== undefined) {
      const entry = { network, path, subnet, gateway };
      networks.set(network.id, entry);
      valid.push(entry);
    }
  });
  return networks;
}

function insideUsable(subnet: Ipv4Prefix, address: number): boolean {
  return prefixContains(subnet, address) && !isNetworkOrBroadcast(subnet, address);
}

function checkNic(
  network: Network,
  path: string,
  nics: NicLookup,
  used: UniqueKeys<string>,
  v: Violations,
): void {
  const npath = `${path}.nic_id`;
  if (network.nicId === '') return v.add(npath, 'required');
  const nic = nics.get(network.nicId);
  if (nic === undefined) return v.add(npath, `no NIC with id "${network.nicId}"`);
  if (nic.nic.role !== NicRole.PRIVATE) return v.add(npath, `NIC "${network.nicId}" is not a private NIC`);
  used.claim(network.nicId, npath, `"${network.nicId}" (one network per NIC)`);
}

function checkOverlaps(
  subnet: Ipv4Prefix,
  path: string,
  nicId: string,
  earlier: readonly ValidNetwork[],
  nics: NicLookup,
  v: Violations,
): void {
  for (const other of earlier)
    if (prefixesOverlap(other.subnet, subnet))
      v.add(
        `${path}.cidr`,
        `${formatPrefix(subnet)} overlaps ${formatPrefix(other.subnet)} of ${other.path}`,
      );
  for (const [id, nic] of nics)
    for (const [k, address] of nic.addresses.entries())
      if (id !== nicId && prefixesOverlap(address, subnet))
        v.add(
          `${path}.cidr`,
          `${formatPrefix(subnet)} overlaps ${nic.nic.addresses[k] ?? ''} of ${nic.path}`,
        );
}

function checkIpv6Side(network: Network, path: string, v: Violations): Ipv6Prefix | undefined {
  if (network.ipv6Cidr === '') {
    if (network.ipv6Gateway !== '') v.add(`${path}.ipv6_gateway`, 'set without ipv6_cidr');
    return undefined;
  }
  const subnet = checkIpv6Subnet(v, `${path}.ipv6_cidr`, network.ipv6Cidr);
  if (network.ipv6Gateway === '') v.add(`${path}.ipv6_gateway`, 'required when ipv6_cidr is set');
  else {
    const gateway = checkIpv6(v, `${path}.ipv6_gateway`, network.ipv6Gateway);
    if (subnet !== undefined && gateway !== undefined && !ipv6PrefixContains(subnet, gateway))
      v.add(`${path}.ipv6_gateway`, `${network.ipv6Gateway} is outside ${network.ipv6Cidr}`);
  }
  return subnet;
}

function checkHosts(
  network: Network,
  path: string,
  subnet: Ipv4Prefix | undefined,
  gateway: number | undefined,
  subnet6: Ipv6Prefix | undefined,
  v: Violations,
): void {
  const macs = new UniqueKeys<string>(v, 'MAC');
  const ips = new UniqueKeys<number>(v, 'IP');
  const names = new UniqueKeys<string>(v, 'hostname');
  const ipv6s = new UniqueKeys<string>(v, 'IPv6 address');

  network.hosts.forEach((host, j) => {
    const hpath = `${path}.hosts[${j}]`;
    const mac = checkMac(v, `${hpath}.mac`, host.mac);
    if (mac !== undefined) macs.claim(mac, `${hpath}.mac`, mac);

    const ip = checkIpv4(v, `${hpath}.ip`, host.ip);
    if (ip !== undefined && subnet !== undefined) {
      if (!prefixContains(subnet, ip)) v.add(`${hpath}.ip`, `${host.ip} is outside ${formatPrefix(subnet)}`);
      else if (isNetworkOrBroadcast(subnet, ip))
        v.add(`${hpath}.ip`, `${host.ip} is the network or broadcast address of ${formatPrefix(subnet)}`);
      else if (ip === gateway) v.add(`${hpath}.ip`, `${host.ip} is the network's gateway`);
      else ips.claim(ip, `${hpath}.ip`, formatIpv4(ip));
    }

    if (host.hostname !== '') {
      if (!isDnsLabel(host.hostname))
        v.add(`${hpath}.hostname`, `"${host.hostname}" is not a DNS label (letters, digits, -, at most 63)`);
      else names.claim(host.hostname.toLowerCase(), `${hpath}.hostname`, `"${host.hostname}"`);
    }

    if (host.ipv6 !== '') {
      const ipv6 = checkIpv6(v, `${hpath}.ipv6`, host.ipv6);
      if (ipv6 === undefined) return;
      if (network.ipv6Cidr === '') v.add(`${hpath}.ipv6`, 'the network has no ipv6_cidr');
      else if (subnet6 === undefined) return;
      else if (!ipv6PrefixContains(subnet6, ipv6))
        v.add(`${hpath}.ipv6`, `${host.ipv6} is outside ${network.ipv6Cidr}`);
      else ipv6s.claim(ipv6.toNormalizedString(), `${hpath}.ipv6`, host.ipv6);
    }
  });
}
