// What `ListVips` and `GetNatStatus` answer: the VIPs as the kernel holds them and what uses them;
// EIPs, port forwards and SNAT entries with the packet and byte counters of their set elements,
// found by the ownership comment each element carries (`eip:e-1`, nat/elements.ts).
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
import type { SetReader } from '../../drivers/nft-netlink.js';
import type { NftTransport } from '../../drivers/nftables.js';
import { listedElements, ownedCounters } from '../../nft/listed-elements.js';
import { NAT_TABLE } from '../ruleset/render.js';
import { SET } from './elements.js';
import { REFUSED_SOURCES } from './ruleset.js';
import { ownAddressesByNic, systemVip } from './validate.js';

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

/** Sets whose elements count each object's traffic. */
const STATS_SETS = [SET.eipStats, SET.forwardStats, SET.forwardRangeStats, SET.snatStats];

/**
 * With `elements` (the netlink element channel, when up) the counters are read over netlink: with
 * 10k EIPs and 10k forwards, tens of milliseconds where nft's JSON listing of them takes most of a
 * second.
 */
export async function natStatus(
  config: RouterConfig,
  nft: NftTransport,
  elements?: SetReader,
): Promise<GetNatStatusResponse> {
  const counters = new Map<string, NatCounters>();
  const channel = elements?.unavailable === undefined ? elements : undefined;
  for (const set of STATS_SETS) {
    const owned =
      channel === undefined
        ? ownedCounters(
            listedElements(
              (await nft.list(`set ${NAT_TABLE.family} ${NAT_TABLE.name} ${set}`, false)) ?? [],
            ).get(set) ?? [],
          )
        : ((await channel.readSet(NAT_TABLE.family, NAT_TABLE.name, set)) ?? []);
    for (const { comment, counter } of owned)
      if (comment !== undefined && counter !== undefined)
        counters.set(comment, create(NatCountersSchema, counter));
  }
  // The terse ruleset listing, not `list chain`: that one has libnftables read every set element first.
  const rules = (await nft.list(`ruleset ${NAT_TABLE.family}`, true)) ?? [];
  const vipIp = new Map(config.vips.map((v) => [v.id, v.ip]));
  const system = systemVip(config)?.ip ?? '';
  const none = create(NatCountersSchema);
  return create(GetNatStatusResponseSchema, {
    eips: config.eips.map((eip) => ({
      eip,
      vipIp: vipIp.get(eip.vipId) ?? '',
      counters: counters.get(`eip:${eip.id}`) ?? none,
    })),
    portForwards: config.portForwards.map((pf) => ({
      portForward: pf,
      vipIp: vipIp.get(pf.vipId) ?? '',
      counters: counters.get(`port_forward:${pf.id}`) ?? none,
    })),
    snats: config.snats.map((snat) => ({
      snat,
      networkCidr: config.networks.find((n) => n.id === snat.networkId)?.cidr ?? '',
      vipIp: snat.vipId === '' ? system : (vipIp.get(snat.vipId) ?? ''),
      counters: counters.get(`snat:${snat.id}`) ?? none,
    })),
    portForwardRefusedPackets: refusedPackets(rules),
  });
}

/** The counter of the rule refusing sources a port forward does not allow. */
function refusedPackets(listing: readonly unknown[]): bigint {
  for (const o of listing) {
    const rule = (o as { rule?: { table?: string; chain?: string; comment?: string; expr?: unknown[] } })
      .rule;
    if (rule?.table !== NAT_TABLE.name || rule.comment !== REFUSED_SOURCES) continue;
    for (const e of rule.expr ?? []) {
      const counter = (e as { counter?: { packets?: number } }).counter;
      if (counter !== undefined) return BigInt(counter.packets ?? 0);
    }
  }
  return 0n;
}
