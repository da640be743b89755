// Rendering of VIPs, SNAT, EIPs and port forwards: the NAT sets and maps of `ip vrouter_nat`, the VIP
// addresses the interfaces step holds, and the plan the conntrack step uses (pure).
//
// A Patch must not cost O(all objects): the result of the last render is kept, and when the config's
// NAT lists differ from it only by a few objects (found by identity, see config/identity-diff.ts), only
// their elements are computed and the new sets carry that delta relative to the previous ones (which
// the transaction planner turns into element adds/deletes). Full lists are built lazily, only when a
// consumer asks (a full load, a drift count). Whatever the history, the content equals a fresh render.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { Eip, PortForward, Snat, Vip } from '../../gen/vrouter/v1/nat_pb.js';
import { identityDiff } from '../../config/identity-diff.js';
import { nextRevision } from '../../reconcile/revision.js';
import type { NftElement, NftSet, NftSetDelta } from '../../nft/model.js';
import { LazySet } from './lazy-set.js';
import type { InterfacePlan, LinkPlan } from '../interfaces/plan.js';
import {
  type Piece,
  SET,
  type SetName,
  eipMark,
  eipPieces,
  forwardPieces,
  hairpinPiece,
  protocolNumber,
  snatPieces,
} from './elements.js';
import { type Ports, ownAddressesByNic, portsOf, systemVip } from './validate.js';

/** A VIP address the interfaces step adds to its link (VIPs that are NIC addresses are not here). */
export interface VipAddress {
  readonly vipId: string;
  readonly ip: string;
  readonly index: number;
  readonly link: string;
  readonly mac: string;
}

/** A list built lazily, and the change since `base` when derived by a Patch. */
export interface LazyList<T> {
  all(): readonly T[];
  /** Names this list, for a later delta (reconcile/revision.ts). */
  readonly revision?: number;
  readonly delta?: {
    /** The revision of the list this one was derived from (reconcile/revision.ts says why not the list). */
    readonly base: number;
    readonly added: readonly T[];
    readonly removed: readonly T[];
  };
}

/** The VIP addresses the interfaces step holds. */
export type VipPlan = LazyList<VipAddress>;

/**
 * Connection tracking entries a NAT change must clear: flows sent to `vip` (on `protocol` and
 * `ports`), answered to it (a SNAT's, from `source`), or either (an EIP's, both directions).
 */
export interface ConntrackTarget {
  readonly vip: string;
  readonly destination: 'original' | 'reply' | 'either';
  readonly protocol?: number;
  readonly ports?: Ports;
  /** Only flows started inside this CIDR: a SNAT's network, not the router's own nor others'. */
  readonly source?: string;
  /** The conntrack mark every flow of this mapping carries (EIPs, see eipMark), when there is one. */
  readonly mark?: number;
}

/** One NAT mapping by what identifies it in the kernel, with what it maps to. */
export interface NatMapping {
  readonly key: string;
  readonly signature: string;
  readonly target: ConntrackTarget;
}

/** The NAT mappings whose flows the conntrack step clears when they change. */
export type NatPlan = LazyList<NatMapping>;

export interface NatArtifacts {
  readonly sets: ReadonlyMap<SetName, NftSet>;
  readonly vips: VipPlan;
  readonly plan: NatPlan;
}

export const EMPTY_VIP_PLAN: VipPlan = { all: () => [] };
export const EMPTY_NAT_PLAN: NatPlan = { all: () => [] };

const SET_TYPES: Record<SetName, Pick<NftSet, 'type' | 'map' | 'flags'> & { counter?: true }> = {
  [SET.eipDnat]: { type: 'ipv4_addr', map: 'ipv4_addr' },
  [SET.eipSnat]: { type: ['ifname', 'ipv4_addr'], map: 'ipv4_addr' },
  [SET.eipStats]: { type: 'mark', counter: true },
  [SET.eipMark]: { type: 'ipv4_addr', map: 'mark' },
  [SET.forwardAddr]: { type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'ipv4_addr' },
  [SET.forwardPort]: { type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'inet_service' },
  [SET.forwardRange]: {
    type: ['ipv4_addr', 'inet_proto', 'inet_service'],
    map: 'ipv4_addr',
    flags: ['interval'],
  },
  [SET.forwardStats]: { type: ['ipv4_addr', 'inet_proto', 'inet_service'], counter: true },
  [SET.forwardRangeStats]: {
    type: ['ipv4_addr', 'inet_proto', 'inet_service'],
    flags: ['interval'],
    counter: true,
  },
  [SET.forwardGuarded]: { type: ['ipv4_addr', 'inet_proto', 'inet_service'], flags: ['interval'] },
  [SET.forwardAllowed]: {
    type: ['ipv4_addr', 'inet_proto', 'inet_service', 'ipv4_addr'],
    flags: ['interval'],
  },
  [SET.snat]: { type: ['ifname', 'ipv4_addr'], map: 'ipv4_addr', flags: ['interval'] },
  [SET.snatStats]: { type: 'ipv4_addr', flags: ['interval'], counter: true },
  [SET.hairpin]: { type: ['ifname', 'ipv4_addr'], flags: ['interval'] },
};

export const SET_NAMES = Object.keys(SET_TYPES) as SetName[];

type NatObject = Vip | Eip | PortForward | Snat;

interface Memo {
  readonly nics: RouterConfig['nics'];
  readonly networks: RouterConfig['networks'];
  readonly links: string;
  readonly vips: RouterConfig['vips'];
  readonly eips: RouterConfig['eips'];
  readonly forwards: RouterConfig['portForwards'];
  readonly snats: RouterConfig['snats'];
  /** The pieces of every object rendered since the last full render; never overwritten. */
  readonly pieces: WeakMap<NatObject, readonly Piece[]>;
  readonly mappings: WeakMap<NatObject, readonly NatMapping[]>;
  readonly addresses: WeakMap<Vip, VipAddress | null>;
  readonly vipById: Map<string, Vip>;
  readonly output: NatArtifacts;
}

let memo: Memo | undefined;

/** The NAT artifacts of a config that passed validation. */
export function renderNat(config: RouterConfig, interfaces: InterfacePlan): NatArtifacts {
  const links = linkKey(interfaces.links);
  const last = memo;
  const next =
    last !== undefined &&
    last.nics === config.nics &&
    last.networks === config.networks &&
    last.links === links
      ? derive(last, config, interfaces)
      : undefined;
  memo = next ?? fullRender(config, interfaces, links);
  return memo.output;
}

function linkKey(links: readonly LinkPlan[]): string {
  return links.map((l) => `${l.nicId}=${l.index}/${l.name}/${l.mac}`).join(',');
}

/** What each object needs from the rest of the config to be rendered. */
class Context {
  private readonly linkByNic: Map<string, LinkPlan>;
  private readonly ownAddresses: Map<string, Set<string>>;

  constructor(
    private readonly config: RouterConfig,
    interfaces: InterfacePlan,
    readonly vipById: Map<string, Vip>,
  ) {
    this.linkByNic = new Map(interfaces.links.map((l) => [l.nicId, l]));
    this.ownAddresses = ownAddressesByNic(config);
  }

  pieces(o: NatObject, kind: Kind): Piece[] {
    switch (kind) {
      case 'eip': {
        const eip = o as Eip;
        const vip = this.vipById.get(eip.vipId);
        return vip === undefined ? [] : eipPieces(eip, vip.ip, this.link(vip.nicId));
      }
      case 'forward': {
        const vip = this.vipById.get((o as PortForward).vipId);
        return vip === undefined ? [] : forwardPieces(o as PortForward, vip.ip);
      }
      case 'snat': {
        const snat = o as Snat;
        const source = this.snatSource(snat);
        const network = this.config.networks.find((n) => n.id === snat.networkId);
        return source === undefined || network === undefined
          ? []
          : snatPieces(snat, network.cidr, source.ip, this.link(source.nicId));
      }
    }
  }

  mappings(o: NatObject, kind: Kind): NatMapping[] {
    if (kind === 'eip') {
      const eip = o as Eip;
      const vip = this.vipById.get(eip.vipId)?.ip ?? '';
      return [
        {
          key: `eip ${vip}`,
          signature: eip.privateIp,
          target: { vip, destination: 'either', mark: eipMark(vip) },
        },
      ];
    }
    if (kind === 'forward') {
      const pf = o as PortForward;
      const vip = this.vipById.get(pf.vipId)?.ip ?? '';
      const protocol = protocolNumber(pf.protocol);
      const ports = portsOf(pf.vipPorts);
      return [
        {
          key: `pf ${vip} ${protocol} ${ports.start}-${ports.end}`,
          signature: JSON.stringify([pf.privateIp, pf.privatePorts?.start, pf.allowedSourceCidrs]),
          target: { vip, destination: 'original', protocol, ports },
        },
      ];
    }
    const snat = o as Snat;
    const source = this.snatSource(snat);
    const network = this.config.networks.find((n) => n.id === snat.networkId);
    if (source === undefined || network === undefined) return [];
    return [
      {
        key: `snat ${network.cidr}`,
        signature: source.ip,
        target: { vip: source.ip, destination: 'reply', source: network.cidr },
      },
    ];
  }

  address(vip: Vip): VipAddress | null {
    const link = this.linkByNic.get(vip.nicId);
    if (link === undefined || this.ownAddresses.get(vip.nicId)?.has(vip.ip) === true) return null;
    return { vipId: vip.id, ip: vip.ip, index: link.index, link: link.name, mac: link.mac };
  }

  hairpin(): Piece[] {
    return this.config.networks.flatMap((n) => {
      const link = this.linkByNic.get(n.nicId);
      return link === undefined ? [] : [hairpinPiece(n, link.name)];
    });
  }

  private snatSource(snat: Snat): { ip: string; nicId: string } | undefined {
    if (snat.vipId === '') return systemVip(this.config);
    const vip = this.vipById.get(snat.vipId);
    return vip === undefined ? undefined : { ip: vip.ip, nicId: vip.nicId };
  }

  private link(nicId: string): string {
    return this.linkByNic.get(nicId)?.name ?? '';
  }
}

type Kind = 'eip' | 'forward' | 'snat';

function fullRender(config: RouterConfig, interfaces: InterfacePlan, links: string): Memo {
  const vipById = new Map(config.vips.map((v) => [v.id, v]));
  const context = new Context(config, interfaces, vipById);
  const pieces = new WeakMap<NatObject, readonly Piece[]>();
  const mappings = new WeakMap<NatObject, readonly NatMapping[]>();
  const addresses = new WeakMap<Vip, VipAddress | null>();
  const hairpin = context.hairpin();
  for (const [kind, list] of lists(config))
    for (const o of list) remember(o, kind, context, pieces, mappings);
  for (const vip of config.vips) addresses.set(vip, context.address(vip));
  const sets = new Map<SetName, NftSet>();
  const listed = elementsBySet(config, pieces, hairpin);
  for (const name of SET_NAMES) sets.set(name, makeSet(name, listed));
  return {
    nics: config.nics,
    networks: config.networks,
    links,
    vips: config.vips,
    eips: config.eips,
    forwards: config.portForwards,
    snats: config.snats,
    pieces,
    mappings,
    addresses,
    vipById,
    output: {
      sets,
      vips: { all: addressList(config, addresses), revision: nextRevision() },
      plan: { all: mappingList(config, mappings), revision: nextRevision() },
    },
  };
}

function lists(config: RouterConfig): [Kind, readonly NatObject[]][] {
  return [
    ['eip', config.eips],
    ['forward', config.portForwards],
    ['snat', config.snats],
  ];
}

function remember(
  o: NatObject,
  kind: Kind,
  context: Context,
  pieces: WeakMap<NatObject, readonly Piece[]>,
  mappings: WeakMap<NatObject, readonly NatMapping[]>,
): void {
  if (!pieces.has(o)) pieces.set(o, context.pieces(o, kind));
  if (!mappings.has(o)) mappings.set(o, context.mappings(o, kind));
}

/** The next artifacts from the last ones and the objects that changed, or undefined to render fully. */
function derive(last: Memo, config: RouterConfig, interfaces: InterfacePlan): Memo | undefined {
  const vips = identityDiff(last.vips, config.vips);
  const changes: [Kind, ReturnType<typeof identityDiff<NatObject>>][] = [
    ['eip', identityDiff<NatObject>(last.eips, config.eips)],
    ['forward', identityDiff<NatObject>(last.forwards, config.portForwards)],
    ['snat', identityDiff<NatObject>(last.snats, config.snats)],
  ];
  if (
    vips.added.length + vips.removed.length === 0 &&
    changes.every(([, d]) => d.added.length + d.removed.length === 0)
  )
    return last;
  // A VIP whose address or NIC changed changes the elements of everything that uses it: render all.
  const replaced = new Set(vips.removed.map((v) => v.id));
  for (const vip of vips.added) {
    const old = last.vipById.get(vip.id);
    if (old !== undefined && replaced.has(vip.id) && (old.ip !== vip.ip || old.nicId !== vip.nicId))
      return undefined;
  }
  // Updated in place: only the latest render uses it (a full render builds its own).
  const vipById = last.vipById;
  for (const vip of vips.removed) if (vipById.get(vip.id) === vip) vipById.delete(vip.id);
  for (const vip of vips.added) vipById.set(vip.id, vip);
  const context = new Context(config, interfaces, vipById);

  const added = new Map<SetName, NftElement[]>();
  const removed = new Map<SetName, NftElement[]>();
  const mappingsAdded: NatMapping[] = [];
  const mappingsRemoved: NatMapping[] = [];
  for (const [kind, diff] of changes) {
    for (const o of diff.removed) {
      for (const p of last.pieces.get(o) ?? []) push(removed, p.set, p.element);
      mappingsRemoved.push(...(last.mappings.get(o) ?? []));
    }
    for (const o of diff.added) {
      remember(o, kind, context, last.pieces, last.mappings);
      for (const p of last.pieces.get(o) ?? []) push(added, p.set, p.element);
      mappingsAdded.push(...(last.mappings.get(o) ?? []));
    }
  }
  const hairpin = context.hairpin();
  const sets = new Map(last.output.sets);
  const listed = elementsBySet(config, last.pieces, hairpin);
  for (const name of SET_NAMES) {
    const [plus, minus] = cancel(added.get(name) ?? [], removed.get(name) ?? [], (e) =>
      JSON.stringify([e.key, e.value]),
    );
    if (plus.length + minus.length === 0) continue;
    const base = last.output.sets.get(name);
    sets.set(name, makeSet(name, listed, base && { base, added: plus, removed: minus }));
  }

  for (const vip of vips.added) if (!last.addresses.has(vip)) last.addresses.set(vip, context.address(vip));
  const [vipAdded, vipRemoved] = cancel(
    vips.added.flatMap((v) => nonNull(last.addresses.get(v))),
    vips.removed.flatMap((v) => nonNull(last.addresses.get(v))),
    (a) => `${a.index} ${a.ip}`,
  );
  const [plus, minus] = cancel(mappingsAdded, mappingsRemoved, (m) => `${m.key} ${m.signature}`);
  const vipPlan: VipPlan =
    vipAdded.length + vipRemoved.length === 0
      ? last.output.vips
      : {
          all: addressList(config, last.addresses),
          revision: nextRevision(),
          delta: { base: last.output.vips.revision ?? 0, added: vipAdded, removed: vipRemoved },
        };
  const plan: NatPlan =
    plus.length + minus.length === 0
      ? last.output.plan
      : {
          all: mappingList(config, last.mappings),
          revision: nextRevision(),
          delta: { base: last.output.plan.revision ?? 0, added: plus, removed: minus },
        };
  return {
    ...last,
    vips: config.vips,
    eips: config.eips,
    forwards: config.portForwards,
    snats: config.snats,
    vipById,
    output: { sets, vips: vipPlan, plan },
  };
}

function makeSet(
  name: SetName,
  listed: () => ReadonlyMap<SetName, readonly NftElement[]>,
  derived?: { readonly base: NftSet; readonly added: NftElement[]; readonly removed: NftElement[] },
): NftSet {
  const { counter, ...type } = SET_TYPES[name];
  const elements = () => listed().get(name) ?? [];
  // Only hash sets are sized, so only they are counted (an interval set's elements stay unlisted).
  const count =
    type.flags !== undefined
      ? undefined
      : derived === undefined
        ? elements().length
        : (derived.base.delta?.count ?? derived.base.elements.length) +
          derived.added.length -
          derived.removed.length;
  const base = derived?.base.revision;
  const delta: NftSetDelta | undefined =
    derived === undefined || base === undefined
      ? undefined
      : { base, added: derived.added, removed: derived.removed, ...(count !== undefined && { count }) };
  return new LazySet(
    {
      name,
      ...type,
      ...(counter === true && { counter: true }),
      ...(count !== undefined && { size: hashCapacity(count) }),
      revision: nextRevision(),
      ...(delta !== undefined && { delta }),
    },
    elements,
  );
}

/**
 * A hash set given a size gets a fixed-size hash table in the kernel instead of a resizable one: a
 * bulk load of 70k elements costs the kernel about a third less. The size is also the most it can
 * hold, so it leaves room (65536 until 32k elements, then twice the next power of two); a change of
 * size replaces the table whole in one transaction (the element counters start again).
 */
export function hashCapacity(count: number): number {
  const floor = 1 << 16;
  return count <= floor / 2 ? floor : 2 ** Math.ceil(Math.log2(count)) * 2;
}

// The lazy lists are made here, not inside derive(): a closure there would share derive's context,
// which holds the last memo, and each generation would keep the one before alive.

/** Every set's elements, listed in one walk over the objects when a set's are first asked for. */
function elementsBySet(
  config: RouterConfig,
  pieces: WeakMap<NatObject, readonly Piece[]>,
  hairpin: readonly Piece[],
): () => ReadonlyMap<SetName, readonly NftElement[]> {
  return lazy(() => {
    const listed = new Map<SetName, NftElement[]>([[SET.hairpin, hairpin.map((p) => p.element)]]);
    for (const [, list] of lists(config))
      for (const o of list) for (const p of pieces.get(o) ?? []) push(listed, p.set, p.element);
    return listed;
  });
}

function addressList(config: RouterConfig, addresses: WeakMap<Vip, VipAddress | null>): () => VipAddress[] {
  return lazy(() => config.vips.flatMap((v) => nonNull(addresses.get(v))));
}

function mappingList(
  config: RouterConfig,
  mappings: WeakMap<NatObject, readonly NatMapping[]>,
): () => NatMapping[] {
  return lazy(() =>
    [...config.eips, ...config.portForwards, ...config.snats].flatMap((o) => mappings.get(o) ?? []),
  );
}

/** Drops what is both added and removed (an object replaced by an equal one): nothing changes there. */
function cancel<T>(added: T[], removed: T[], id: (x: T) => string): [T[], T[]] {
  if (added.length === 0 || removed.length === 0) return [added, removed];
  const gone = new Set(removed.map(id));
  const come = new Set(added.map(id));
  return [added.filter((x) => !gone.has(id(x))), removed.filter((x) => !come.has(id(x)))];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function nonNull<T>(value: T | null | undefined): T[] {
  return value === null || value === undefined ? [] : [value];
}

function lazy<T>(compute: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: compute() }).v;
}
