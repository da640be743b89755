// rtnetlink through the `netlink` package: links, addresses and link settings of the namespace the
// daemon runs in. The only code that reads or changes links and addresses. Requests go one at a
// time: two dumps in flight on one socket interleave and the package rejects both.
import ipaddr from 'ipaddr.js';
import { FlagsNew, createRtNetlink, rt, type RtNetlinkSocket } from 'netlink';

export interface LinkState {
  readonly index: number;
  readonly name: string;
  /** Lower case, colon-separated. */
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  readonly carrier: boolean;
}

export interface AddressState {
  readonly index: number;
  readonly family: 4 | 6;
  /** `10.1.0.1/24`, `fd00:1::1/64`. */
  readonly cidr: string;
  /** Link-local IPv6 (fe80::/10) and host-scope addresses are the kernel's, never the daemon's. */
  readonly global: boolean;
}

/** A route of the main table as the kernel shows it. */
export interface RouteState {
  /** `192.168.50.0/24`, `0.0.0.0/0`. */
  readonly destination: string;
  /** rtm_type: 1 unicast, 6 blackhole, 7 unreachable, 8 prohibit … */
  readonly type: number;
  readonly gateway: string;
  readonly oif: number;
  readonly protocol: number;
  readonly metric: number;
  readonly source: string;
}

/** A route to add or delete in the main table. */
export interface RouteSpec {
  readonly destination: string;
  /** Empty for a blackhole. */
  readonly gateway: string;
  readonly blackhole: boolean;
  readonly metric: number;
  readonly protocol: number;
}

const AF_INET = 2;
const RT_TABLE_MAIN = 254;

const AF_INET6 = 10;
const RT_SCOPE_UNIVERSE = 0;
const IF_OPER_UP = 6;

export class Netlink {
  private readonly socket: RtNetlinkSocket = createRtNetlink();
  private queue: Promise<unknown> = Promise.resolve();

  private serial<T>(request: (socket: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const next = this.queue.then(() => request(this.socket));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async links(): Promise<LinkState[]> {
    const messages = await this.serial((s) => s.getLinks());
    return messages.map((m) => ({
      index: m.data.index ?? 0,
      name: m.attrs.ifname ?? '',
      mac: formatMac(m.attrs.address),
      mtu: m.attrs.mtu ?? 0,
      up: m.data.flags?.up === true,
      carrier: m.attrs.operstate === IF_OPER_UP,
    }));
  }

  async addresses(): Promise<AddressState[]> {
    const messages = await this.serial((s) => s.getAddresses());
    const result: AddressState[] = [];
    for (const m of messages) {
      const family = m.data.family === AF_INET ? 4 : m.data.family === AF_INET6 ? 6 : undefined;
      const raw = m.attrs.local ?? m.attrs.address;
      if (family === undefined || raw === undefined) continue;
      const text = ipaddr.fromByteArray([...raw]).toString();
      result.push({
        index: m.data.index ?? 0,
        family,
        cidr: `${text}/${m.data.prefixlen ?? 0}`,
        global: m.data.scope === RT_SCOPE_UNIVERSE,
      });
    }
    return result;
  }

  async setUp(index: number): Promise<void> {
    await this.serial((s) => s.setLink({ index, flags: { up: true }, change: { up: true } }));
  }

  async setMtu(index: number, mtu: number): Promise<void> {
    await this.serial((s) => s.setLink({ index }, { mtu }));
  }

  async addAddress(index: number, cidr: string): Promise<void> {
    const { data, raw } = addressMessage(index, cidr);
    await this.serial((s) =>
      s.newAddress(data, { local: raw, address: raw }, { flags: FlagsNew.CREATE | FlagsNew.EXCL }),
    );
  }

  async deleteAddress(index: number, cidr: string): Promise<void> {
    const { data, raw } = addressMessage(index, cidr);
    await this.serial((s) => s.delAddress(data, { local: raw, address: raw }));
  }

  /** IPv4 routes of the main table. */
  async routes(): Promise<RouteState[]> {
    const messages = await this.serial((s) => s.getRoutes({ family: AF_INET }));
    const result: RouteState[] = [];
    for (const m of messages) {
      const table = m.attrs.table ?? m.data.table;
      if (m.data.family !== AF_INET || table !== RT_TABLE_MAIN) continue;
      result.push({
        destination: `${m.attrs.dst === undefined ? '0.0.0.0' : ipText(m.attrs.dst)}/${m.data.dstLen ?? 0}`,
        type: enumValue(rt.RouteType, m.data.type),
        gateway: m.attrs.gateway === undefined ? '' : ipText(m.attrs.gateway),
        oif: m.attrs.oif ?? 0,
        protocol: enumValue(rt.RouteProtocol, m.data.protocol),
        metric: m.attrs.priority ?? 0,
        source: m.attrs.prefsrc === undefined ? '' : ipText(m.attrs.prefsrc),
      });
    }
    return result;
  }

  /** Adds the route, replacing one with the same destination and metric. */
  async replaceRoute(route: RouteSpec): Promise<void> {
    const { data, attrs } = routeMessage(route);
    await this.serial((s) => s.newRoute(data, attrs, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }));
  }

  async deleteRoute(route: RouteSpec): Promise<void> {
    const { data, attrs } = routeMessage(route);
    await this.serial((s) => s.delRoute(data, attrs));
  }

  close(): void {
    this.socket.socket.close();
  }
}

/** The errno name of a request the kernel rejected (`EEXIST` …), from the netlink package's error. */
export function rejectedWith(e: unknown): string | undefined {
  return e instanceof Error ? /^Request rejected: (\w+)/.exec(e.message)?.[1] : undefined;
}

function routeMessage(route: RouteSpec) {
  const slash = route.destination.indexOf('/');
  return {
    data: {
      family: AF_INET,
      dstLen: Number(route.destination.slice(slash + 1)),
      table: RT_TABLE_MAIN,
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- our own number (176) is not in the package's enum
      protocol: route.protocol as rt.RouteProtocol,
      scope: rt.RouteScope.UNIVERSE,
      type: route.blackhole ? rt.RouteType.BLACKHOLE : rt.RouteType.UNICAST,
    },
    attrs: {
      dst: Buffer.from(ipaddr.parse(route.destination.slice(0, slash)).toByteArray()),
      priority: route.metric,
      ...(route.gateway !== '' && { gateway: Buffer.from(ipaddr.parse(route.gateway).toByteArray()) }),
    },
  };
}

/** The package gives known enum values by name and unknown ones as numbers. */
function enumValue(names: Record<string, string | number>, value: string | number | undefined): number {
  if (typeof value === 'number') return value;
  const n = value === undefined ? 0 : names[value];
  return typeof n === 'number' ? n : 0;
}

function ipText(raw: Buffer): string {
  return ipaddr.fromByteArray([...raw]).toString();
}

function addressMessage(index: number, cidr: string) {
  const slash = cidr.lastIndexOf('/');
  const text = cidr.slice(0, slash);
  const prefixlen = Number(cidr.slice(slash + 1));
  const raw = Buffer.from(ipaddr.parse(text).toByteArray());
  return { data: { family: raw.length === 16 ? AF_INET6 : AF_INET, prefixlen, index }, raw };
}

function formatMac(raw: Buffer | undefined): string {
  return raw === undefined ? '' : [...raw].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
