// Rendering of the NICs: which kernel link each NIC is, and the MTU and addresses it must hold.
// Pure: the links the kernel has (found by MAC) come in as facts.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import { canonicalCidr, normalizeMac, parseIpv4Prefix, parseIpv6Prefix } from '../../config/net.js';
import { EMPTY_VIP_PLAN, type VipPlan } from '../nat/render.js';

/** A kernel link as found by its MAC. */
export interface LinkFact {
  readonly index: number;
  readonly name: string;
}

/** MAC (normalized) → link. */
export type LinkFacts = ReadonlyMap<string, LinkFact>;

export interface LinkPlan {
  readonly nicId: string;
  readonly mac: string;
  readonly index: number;
  readonly name: string;
  /** Undefined: leave the link's MTU alone. */
  readonly mtu: number | undefined;
  /** Addresses in CIDR form, sorted. */
  readonly addresses: readonly string[];
  /** The daemon owns every global address of the link (public and private NICs). */
  readonly exclusive: boolean;
}

export interface InterfacePlan {
  readonly links: readonly LinkPlan[];
  /** VIP addresses (/32) the links also hold (services/nat/render.ts); owned like `addresses`. */
  readonly vips: VipPlan;
}

export const EMPTY_INTERFACE_PLAN: InterfacePlan = { links: [], vips: EMPTY_VIP_PLAN };

/** NICs of the config whose MAC no kernel link has, as `nics[i].mac` paths with their MAC. */
export function missingLinks(config: RouterConfig, links: LinkFacts): { field: string; mac: string }[] {
  return config.nics.flatMap((nic, i) => {
    const mac = normalizeMac(nic.mac) ?? nic.mac;
    return links.has(mac) ? [] : [{ field: `nics[${i}].mac`, mac }];
  });
}

/**
 * How the kernel links of planned NICs differ from what the plan was rendered with (a NIC renamed by
 * udev after it was plugged in, or unplugged and plugged back): `moved` can be followed by rendering
 * again; `gone` cannot until the link comes back.
 */
export function linkDrift(plan: InterfacePlan, links: LinkFacts): { moved: string[]; gone: string[] } {
  const moved: string[] = [];
  const gone: string[] = [];
  for (const l of plan.links) {
    const now = links.get(l.mac);
    if (now === undefined) gone.push(`nic ${l.nicId}: no link has MAC ${l.mac} any more (was ${l.name})`);
    else if (now.index !== l.index || now.name !== l.name)
      moved.push(`nic ${l.nicId}: link ${l.name} (index ${l.index}) is now ${now.name} (index ${now.index})`);
  }
  return { moved, gone };
}

/** The links of the NICs; their VIP addresses come from the NAT render (rendered.ts). */
export function planInterfaces(config: RouterConfig, links: LinkFacts): InterfacePlan {
  return {
    vips: EMPTY_VIP_PLAN,
    links: config.nics.map((nic) => {
      const mac = normalizeMac(nic.mac) ?? nic.mac;
      const link = links.get(mac);
      if (link === undefined) throw new Error(`no link with MAC ${mac} (check missingLinks first)`);
      const addresses = new Set(nic.addresses);
      for (const network of config.networks.filter((n) => n.nicId === nic.id)) {
        const subnet = parseIpv4Prefix(network.cidr);
        if (subnet !== undefined) addresses.add(`${network.gateway}/${subnet.prefix}`);
        const subnet6 = network.ipv6Cidr === '' ? undefined : parseIpv6Prefix(network.ipv6Cidr);
        if (subnet6 !== undefined) addresses.add(`${network.ipv6Gateway}/${subnet6.prefix}`);
      }
      return {
        nicId: nic.id,
        mac,
        index: link.index,
        name: link.name,
        mtu: nic.mtu === 0 ? undefined : nic.mtu,
        addresses: [...addresses].map(canonicalCidr).sort(),
        exclusive: nic.role !== NicRole.MANAGEMENT,
      };
    }),
  };
}
