// What `ListVips` and `GetNatStatus` answer: the VIPs as the kernel holds them and what uses them;
// EIPs, port forwards and SNAT entries with the packet and byte counters of their set elements.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import {
  type GetNatStatusResponse,
  GetNatStatusResponseSchema,
  type NatCounters,
  NatCountersSchema,
  type VipStatus,
  VipStatusSchema,
} from '../../gen/vrouter/v1/service_pb.js';
import { normalizeMac } from '../../config/net.js';
import type { Netlink } from '../../drivers/netlink.js';
import type { NftTransport } from '../../drivers/nftables.js';
import { listedElements } from '../../nft/listed-elements.js';
import { NAT_TABLE } from '../ruleset/render.js';
import { SET, protocolNumber } from './elements.js';
import { NAT_CHAINS } from './ruleset.js';
import { ownAddressesByNic, portsOf, systemVip } from './validate.js';

export async function vipStatuses(config: RouterConfig, netlink: Netlink): Promise<VipStatus[]> {
  const [links, addresses] = await Promise.all([netlink.links(), netlink.addresses()]);
  const usedBy = new Map<string, string[]>();
  const use = (vipId: string, what: string) => usedBy.set(vipId, [...(usedBy.get(vipId) ?? []), what]);
  for (const e of config.eips) use(e.vipId, `eip:${e.id}`);
  for (const p of config.portForwards) use(p.vipId, `port_forward:${p.id}`);
  const system = systemVip(config);
  for (const s of config.snats) {
    const vipId = s.vipId !== '' ? s.vipId : config.vips.find((v) => v.ip === system?.ip)?.id;
    if (vipId !== undefined) use(vipId, `snat:${s.id}`);
  }
  const own = ownAddressesByNic(config);
  const held = new Set(addresses.map((a) => `${a.index} ${a.cidr.slice(0, a.cidr.indexOf('/'))}`));
  return config.vips.map((vip) => {
    const nic = config.nics.find((n) => n.id === vip.nicId);
    const mac = nic === undefined ? undefined : normalizeMac(nic.mac);
    const link = links.filter((l) => l.mac === mac).sort((a, b) => a.index - b.index)[0];
    const present = link !== undefined && held.has(`${link.index} ${vip.ip}`);
    return create(VipStatusSchema, {
      vip,
      link: link?.name ?? '',
      present,
      nicAddress: own.get(vip.nicId)?.has(vip.ip) === true,
      usedBy: usedBy.get(vip.id) ?? [],
    });
  });
}

export async function natStatus(config: RouterConfig, nft: NftTransport): Promise<GetNatStatusResponse> {
  const counters = new Map<string, NatCounters>();
  for (const set of [SET.eipStats, SET.forwardStats, SET.forwardRangeStats, SET.snatStats]) {
    const listing = (await nft.list(`set ${NAT_TABLE.family} ${NAT_TABLE.name} ${set}`, false)) ?? [];
    for (const [key, value] of elementCounters(listing)) counters.set(key, value);
  }
  const chain =
    (await nft.list(`chain ${NAT_TABLE.family} ${NAT_TABLE.name} ${NAT_CHAINS.forwardFilter.name}`, false)) ??
    [];
  const vipIp = new Map(config.vips.map((v) => [v.id, v.ip]));
  const system = systemVip(config)?.ip ?? '';
  const none = create(NatCountersSchema);
  return create(GetNatStatusResponseSchema, {
    eips: config.eips.map((eip) => {
      const ip = vipIp.get(eip.vipId) ?? '';
      return { eip, vipIp: ip, counters: counters.get(ip) ?? none };
    }),
    portForwards: config.portForwards.map((pf) => {
      const ip = vipIp.get(pf.vipId) ?? '';
      const ports = portsOf(pf.vipPorts);
      return {
        portForward: pf,
        vipIp: ip,
        counters: counters.get(`${ip} ${protocolNumber(pf.protocol)} ${ports.start}`) ?? none,
      };
    }),
    snats: config.snats.map((snat) => {
      const cidr = config.networks.find((n) => n.id === snat.networkId)?.cidr ?? '';
      return {
        snat,
        networkCidr: cidr,
        vipIp: snat.vipId === '' ? system : (vipIp.get(snat.vipId) ?? ''),
        counters: counters.get(cidr) ?? none,
      };
    }),
    portForwardRefusedPackets: refusedPackets(chain),
  });
}

/** Counters of a set listing by element: `ip`, `ip protocol-number first-port`, or `cidr`. */
function elementCounters(listing: readonly unknown[]): Map<string, NatCounters> {
  const result = new Map<string, NatCounters>();
  for (const elements of listedElements(listing).values()) {
    for (const item of elements) {
      const elem = (item as { elem?: { val?: unknown; counter?: { packets?: number; bytes?: number } } })
        .elem;
      if (elem?.val === undefined) continue;
      result.set(
        keyText(elem.val),
        create(NatCountersSchema, {
          packets: BigInt(elem.counter?.packets ?? 0),
          bytes: BigInt(elem.counter?.bytes ?? 0),
        }),
      );
    }
  }
  return result;
}

function keyText(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  const v = value as { concat?: unknown[]; range?: unknown[]; prefix?: { addr: string; len: number } };
  if (v.concat !== undefined) return v.concat.map(keyText).join(' ');
  if (v.range !== undefined) return keyText(v.range[0]);
  if (v.prefix !== undefined) return `${v.prefix.addr}/${v.prefix.len}`;
  return JSON.stringify(value);
}

function refusedPackets(listing: readonly unknown[]): bigint {
  for (const o of listing) {
    const rule = (o as { rule?: { comment?: string; expr?: unknown[] } }).rule;
    if (rule?.comment !== 'nat:port-forward-sources') continue;
    for (const e of rule.expr ?? []) {
      const counter = (e as { counter?: { packets?: number } }).counter;
      if (counter !== undefined) return BigInt(counter.packets ?? 0);
    }
  }
  return 0n;
}
