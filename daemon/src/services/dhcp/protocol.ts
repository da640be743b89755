// What the server answers to one client message (RFC 2131 §4.3), given the network's plan and its
// lease table: pure apart from updating the table, so every state of the exchange is unit-tested.
//
// The router is the only DHCP server of its private networks, so it is authoritative: a client asking
// for an address it cannot have (another network's, another host's, a listed host's old address after
// a Patch moved it) is refused with a NAK and starts over, rather than being left to time out.
import { formatMac } from './mac.js';
import { BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, type DhcpMessage, MESSAGE_TYPE, OPTION } from './codec.js';
import type { Lease, NetworkLeases } from './leases.js';
import {
  encodeAddresses,
  encodeText,
  hex,
  misSizedOption,
  readAddress,
  readHostname,
  readUint16,
} from './option-values.js';
import type { DhcpHost, DhcpNetworkPlan } from './render.js';

export type DropReason =
  | 'truncated'
  | 'bad_cookie'
  | 'bad_header'
  | 'option_overrun'
  | 'bad_overload'
  | 'bad_option_length'
  | 'not_request'
  | 'no_message_type'
  | 'relayed'
  | 'unknown_client'
  | 'pool_exhausted'
  | 'no_requested_ip'
  | 'no_server_id'
  | 'not_leased'
  | 'bad_ciaddr'
  | 'internal';

export interface Destination {
  /** 255.255.255.255 for a broadcast. */
  readonly address: number;
  /** 68 for a client, 67 for a relay agent. */
  readonly port: number;
  /** A neighbour entry the kernel needs to reach a client that cannot answer ARP yet. */
  readonly arp?: { readonly ip: number; readonly mac: string };
}

export type Outcome =
  | {
      readonly kind: 'reply';
      readonly event: 'offers' | 'acks' | 'naks' | 'informs';
      readonly message: DhcpMessage;
      /** Largest message the client accepts. */
      readonly maxLength: number;
      readonly to: Destination;
    }
  | {
      readonly kind: 'done';
      readonly event: 'releases' | 'declines' | 'not_selected';
      readonly lease?: Lease;
    }
  | { readonly kind: 'drop'; readonly reason: DropReason };

/** How long an offered pool address is held for the client that was offered it. */
export const OFFER_HOLD_MS = 60_000;
/** How long a declined pool address stays out of use (it is probably configured on some machine). */
export const DECLINE_HOLD_MS = 3_600_000;
const LIMITED_BROADCAST = 0xffffffff;
export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
const ETHERNET = 1;
const ETHERNET_ADDRESS_LENGTH = 6;
/** Options sent to a client that sends no parameter request list. */
const DEFAULT_REQUEST = [
  OPTION.DNS_SERVERS,
  OPTION.HOSTNAME,
  OPTION.DOMAIN_NAME,
  OPTION.INTERFACE_MTU,
  OPTION.BROADCAST,
  OPTION.NTP_SERVERS,
  OPTION.DOMAIN_SEARCH,
  OPTION.CLASSLESS_ROUTES,
];
/** Sent whatever the client asks for: the mask and the default router. */
const ALWAYS = [OPTION.SUBNET_MASK, OPTION.ROUTER];
const SERVER_ONLY = [OPTION.SERVER_ID];
const SERVER_AND_LEASE = [OPTION.SERVER_ID, OPTION.LEASE_TIME, OPTION.RENEWAL_TIME, OPTION.REBINDING_TIME];
/** Options a client may list in its request list but gets only where the message type has them. */
const SERVER_DECIDES = new Set<number>([
  OPTION.MESSAGE_TYPE,
  OPTION.OVERLOAD,
  OPTION.CLIENT_ID,
  ...SERVER_AND_LEASE,
]);
/**
 * What a reply that cannot hold everything keeps first: what makes it a reply the client takes (type,
 * server, lease, its identifier) and what its network does not work without (mask, router, DNS
 * servers, domain, MTU, classless routes, which replace the router option when present).
 */
export const ESSENTIAL_OPTIONS: ReadonlySet<number> = new Set([
  OPTION.MESSAGE_TYPE,
  OPTION.SERVER_ID,
  OPTION.LEASE_TIME,
  OPTION.RENEWAL_TIME,
  OPTION.REBINDING_TIME,
  OPTION.CLIENT_ID,
  OPTION.SUBNET_MASK,
  OPTION.ROUTER,
  OPTION.DNS_SERVERS,
  OPTION.DOMAIN_NAME,
  OPTION.INTERFACE_MTU,
  OPTION.CLASSLESS_ROUTES,
]);
const MESSAGE_TYPE_BYTES: Record<number, Uint8Array> = {
  [MESSAGE_TYPE.OFFER]: Uint8Array.of(MESSAGE_TYPE.OFFER),
  [MESSAGE_TYPE.ACK]: Uint8Array.of(MESSAGE_TYPE.ACK),
};
const ZERO_SNAME = new Uint8Array(64);
const ZERO_FILE = new Uint8Array(128);

/** What of a client's request shapes the options of the reply. */
export interface ReplyAsk {
  /** Its parameter request list; undefined when it sent none. */
  readonly asked: Iterable<number> | undefined;
  readonly clientId: Uint8Array | undefined;
  /** The listed host's name, when the client is one that has a name. */
  readonly hostname: Uint8Array | undefined;
}

/**
 * The options of an OFFER or ACK (`withLease`) or an INFORM's ACK, in the order they are written:
 * the message type, server and lease, the echoed client identifier, mask and router, then what the
 * client asked for in its order (RFC 2132 §9.8). Pure: the config's size check builds replies with it.
 */
export function replyOptions(
  planned: ReadonlyMap<number, Uint8Array>,
  type: number,
  withLease: boolean,
  ask: ReplyAsk,
): Map<number, Uint8Array> {
  const options = new Map<number, Uint8Array>([
    [OPTION.MESSAGE_TYPE, MESSAGE_TYPE_BYTES[type] ?? Uint8Array.of(type)],
  ]);
  for (const code of withLease ? SERVER_AND_LEASE : SERVER_ONLY) {
    const value = planned.get(code);
    if (value !== undefined) options.set(code, value);
  }
  // RFC 6842: a server echoes the client identifier.
  if (ask.clientId !== undefined) options.set(OPTION.CLIENT_ID, ask.clientId);
  for (const code of ALWAYS) {
    const value = planned.get(code);
    if (value !== undefined) options.set(code, value);
  }
  for (const code of ask.asked ?? DEFAULT_REQUEST) {
    if (options.has(code) || SERVER_DECIDES.has(code)) continue;
    const value = code === OPTION.HOSTNAME ? ask.hostname : planned.get(code);
    if (value !== undefined) options.set(code, value);
  }
  return options;
}

interface Client {
  readonly key: string;
  readonly mac: string;
  readonly clientId: string;
  /** The listed host with the client's MAC, if any. */
  readonly host: DhcpHost | undefined;
}

export function respond(
  plan: DhcpNetworkPlan,
  leases: NetworkLeases,
  request: DhcpMessage,
  now: number,
): Outcome {
  if (request.op !== BOOTREQUEST) return drop('not_request');
  // Clients are known by their hardware address, or by their client identifier when their link has
  // none to give (RFC 4390, InfiniBand: hlen 0); an Ethernet address of another length is none.
  const identified = request.hlen > 0 || (request.options.get(OPTION.CLIENT_ID)?.length ?? 0) > 0;
  if (!identified || (request.htype === ETHERNET && request.hlen !== ETHERNET_ADDRESS_LENGTH))
    return drop('bad_header');
  // Answering as if a mis-sized option were absent would ACK what the client did not ask for.
  if (misSizedOption(request.options) !== undefined) return drop('bad_option_length');
  // A relay agent on the network itself is served (it is how perfdhcp talks); one elsewhere is
  // not: this server serves the networks it is attached to.
  if (request.giaddr !== 0 && !isRelayOnNetwork(plan, request.giaddr)) return drop('relayed');
  const type = request.options.get(OPTION.MESSAGE_TYPE);
  if (type?.length !== 1) return drop('no_message_type');
  const client = identify(plan, request);
  const exchange = new Exchange(plan, leases, request, client, now);
  switch (type[0]) {
    case MESSAGE_TYPE.DISCOVER:
      return exchange.discover();
    case MESSAGE_TYPE.REQUEST:
      return exchange.request();
    case MESSAGE_TYPE.DECLINE:
      return exchange.decline();
    case MESSAGE_TYPE.RELEASE:
      return exchange.release();
    case MESSAGE_TYPE.INFORM:
      return exchange.inform();
    default:
      // OFFER, ACK, NAK from a client port: another server or garbage.
      return drop('not_request');
  }
}

function identify(plan: DhcpNetworkPlan, request: DhcpMessage): Client {
  const mac = formatMac(request.chaddr.subarray(0, request.hlen));
  const id = request.options.get(OPTION.CLIENT_ID);
  const clientId = id === undefined || id.length === 0 ? '' : hex(id);
  // Listed hosts are known by their MAC, as the cloud manager allocated them.
  const host = request.htype === ETHERNET ? plan.hosts.get(mac) : undefined;
  const key = host !== undefined || clientId === '' ? `hw:${mac}` : `id:${clientId}`;
  return { key, mac, clientId, host };
}

/** A host of the network other than the router: not its network or broadcast address, not the gateway. */
function isRelayOnNetwork(plan: DhcpNetworkPlan, giaddr: number): boolean {
  const { network, prefix } = plan.subnet;
  const broadcast = (network | (prefix === 0 ? 0xffffffff : 0xffffffff >>> prefix)) >>> 0;
  return inSubnet(plan, giaddr) && giaddr !== network && giaddr !== broadcast && giaddr !== plan.serverId;
}

function inSubnet(plan: DhcpNetworkPlan, ip: number): boolean {
  const { network, prefix } = plan.subnet;
  return prefix === 0 || ip >>> (32 - prefix) === network >>> (32 - prefix);
}

function drop(reason: DropReason): Outcome {
  return { kind: 'drop', reason };
}

class Exchange {
  constructor(
    private readonly plan: DhcpNetworkPlan,
    private readonly leases: NetworkLeases,
    private readonly req: DhcpMessage,
    private readonly client: Client,
    private readonly now: number,
  ) {}

  discover(): Outcome {
    const { host, key } = this.client;
    if (host !== undefined) return this.reply(MESSAGE_TYPE.OFFER, host.ip);
    if (this.plan.pools.length === 0) return drop('unknown_client');
    const ip = this.poolChoice();
    if (ip === undefined) return drop('pool_exhausted');
    const current = this.leases.get(key);
    // A client that holds a lease keeps it while it asks again; others get a short hold.
    if (current === undefined || current.offered || current.ip !== ip)
      this.leases.put(this.lease(ip, this.now + OFFER_HOLD_MS, true));
    return this.reply(MESSAGE_TYPE.OFFER, ip);
  }

  request(): Outcome {
    const serverId = readAddress(this.req.options.get(OPTION.SERVER_ID));
    const requested = readAddress(this.req.options.get(OPTION.REQUESTED_IP));
    if (serverId !== undefined) {
      // SELECTING: the client chose among offers.
      if (serverId !== this.plan.serverId) {
        const held = this.leases.get(this.client.key);
        if (held?.offered === true) this.leases.remove(this.client.key);
        return { kind: 'done', event: 'not_selected' };
      }
      const ip = requested ?? (this.req.ciaddr !== 0 ? this.req.ciaddr : undefined);
      return ip === undefined ? drop('no_requested_ip') : this.confirm(ip);
    }
    // INIT-REBOOT: a client that remembers its address; RENEWING/REBINDING: it holds it (ciaddr).
    if (requested !== undefined) return this.confirm(requested);
    if (this.req.ciaddr !== 0) return this.confirm(this.req.ciaddr);
    return drop('no_requested_ip');
  }

  decline(): Outcome {
    const checked = this.checkServerId();
    if (checked !== undefined) return checked;
    const ip = readAddress(this.req.options.get(OPTION.REQUESTED_IP));
    if (ip === undefined) return drop('no_requested_ip');
    // Only the client the address was given to can take it out of use (Kea does the same), or any
    // client could empty the pool.
    const held = this.leases.get(this.client.key);
    if (held?.ip !== ip) return drop('not_leased');
    this.leases.remove(this.client.key);
    if (held.hostId === '') this.leases.decline(ip, this.now + DECLINE_HOLD_MS);
    return { kind: 'done', event: 'declines', lease: held };
  }

  release(): Outcome {
    const checked = this.checkServerId();
    if (checked !== undefined) return checked;
    const held = this.leases.get(this.client.key);
    if (held?.ip === this.req.ciaddr) this.leases.remove(this.client.key);
    return { kind: 'done', event: 'releases', ...(held && { lease: held }) };
  }

  inform(): Outcome {
    const ciaddr = this.req.ciaddr;
    if (!inSubnet(this.plan, ciaddr)) return drop('bad_ciaddr');
    const message = this.message(MESSAGE_TYPE.ACK, 0, ciaddr, false);
    return { ...message, event: 'informs', to: { address: ciaddr, port: CLIENT_PORT } };
  }

  /** The address a pool client gets: the one it holds or was offered, the one it asks for, or a new one. */
  private poolChoice(): number | undefined {
    const { key } = this.client;
    const current = this.leases.get(key);
    if (current !== undefined && this.available(current.ip)) return current.ip;
    const requested = readAddress(this.req.options.get(OPTION.REQUESTED_IP));
    if (requested !== undefined && this.available(requested)) return requested;
    return this.leases.allocate(this.plan, key, this.now);
  }

  /** ACK `ip` when the client may have it, else NAK. */
  private confirm(ip: number): Outcome {
    const { host } = this.client;
    const allowed = host !== undefined ? host.ip === ip : this.available(ip);
    if (!allowed) {
      // A pool lease the client can no longer have (its address became a host's, left the pools).
      const held = this.leases.get(this.client.key);
      if (held?.ip === ip) this.leases.remove(this.client.key);
      return this.nak();
    }
    // A client that became a listed host drops the pool lease it held under its client identifier.
    if (host !== undefined && this.client.clientId !== '') this.leases.remove(`id:${this.client.clientId}`);
    // Whole seconds, as the lease file keeps them; rounded up, never ending before the client's.
    const expiresAt = (Math.ceil(this.now / 1000) + this.plan.leaseTimeSeconds) * 1000;
    this.leases.put(this.lease(ip, expiresAt, false));
    return this.reply(MESSAGE_TYPE.ACK, ip);
  }

  private available(ip: number): boolean {
    return this.inPools(ip) && this.leases.isFree(this.plan, ip, this.client.key, this.now);
  }

  private inPools(ip: number): boolean {
    return this.plan.pools.some((p) => ip >= p.start && ip <= p.end);
  }

  private checkServerId(): Outcome | undefined {
    const serverId = readAddress(this.req.options.get(OPTION.SERVER_ID));
    if (serverId === undefined) return drop('no_server_id');
    if (serverId !== this.plan.serverId) return { kind: 'done', event: 'not_selected' };
    return undefined;
  }

  private lease(ip: number, expiresAt: number, offered: boolean): Lease {
    const { host, key, mac, clientId } = this.client;
    return {
      networkId: this.plan.networkId,
      key,
      mac,
      ip,
      clientId,
      hostname: host?.hostname ?? readHostname(this.req.options.get(OPTION.HOSTNAME)),
      hostId: host?.id ?? '',
      expiresAt,
      offered,
    };
  }

  private reply(type: typeof MESSAGE_TYPE.OFFER | typeof MESSAGE_TYPE.ACK, ip: number): Outcome {
    const renewing = type === MESSAGE_TYPE.ACK && this.req.ciaddr !== 0;
    const message = this.message(type, ip, renewing ? this.req.ciaddr : 0, true);
    const event = type === MESSAGE_TYPE.OFFER ? 'offers' : 'acks';
    return { ...message, event, to: this.destination(ip) };
  }

  private nak(): Outcome {
    const options = new Map<number, Uint8Array>([
      [OPTION.MESSAGE_TYPE, Uint8Array.of(MESSAGE_TYPE.NAK)],
      [OPTION.SERVER_ID, this.plan.options.get(OPTION.SERVER_ID) ?? encodeAddresses([this.plan.serverId])],
      [OPTION.MESSAGE, encodeText('address not valid on this network')],
    ]);
    const clientId = this.req.options.get(OPTION.CLIENT_ID);
    if (clientId !== undefined) options.set(OPTION.CLIENT_ID, clientId);
    const relay = this.req.giaddr;
    const message = this.header(0, 0, options);
    return {
      kind: 'reply',
      event: 'naks',
      // Without a relay a NAK is always broadcast: the client may be on the wrong network. Through
      // one, the broadcast bit tells the relay to broadcast it.
      message: relay === 0 ? message : { ...message, flags: message.flags | BROADCAST_FLAG },
      maxLength: this.maxLength(),
      to:
        relay === 0
          ? { address: LIMITED_BROADCAST, port: CLIENT_PORT }
          : { address: relay, port: SERVER_PORT },
    };
  }

  /** RFC 2131 §4.1: to the relay agent if there is one; to ciaddr when the client has an address;
   * broadcast when it asks; else unicast to the new address at the client's MAC. */
  private destination(yiaddr: number): Destination {
    const req = this.req;
    if (req.giaddr !== 0) return { address: req.giaddr, port: SERVER_PORT };
    if (req.ciaddr !== 0) return { address: req.ciaddr, port: CLIENT_PORT };
    if ((req.flags & BROADCAST_FLAG) !== 0 || req.htype !== ETHERNET)
      return { address: LIMITED_BROADCAST, port: CLIENT_PORT };
    return { address: yiaddr, port: CLIENT_PORT, arp: { ip: yiaddr, mac: this.client.mac } };
  }

  private message(
    type: number,
    yiaddr: number,
    ciaddr: number,
    withLease: boolean,
  ): { kind: 'reply'; message: DhcpMessage; maxLength: number } {
    const options = replyOptions(this.plan.options, type, withLease, {
      asked: this.req.options.get(OPTION.PARAMETER_REQUEST_LIST),
      clientId: this.req.options.get(OPTION.CLIENT_ID),
      hostname: this.hostname(),
    });
    return { kind: 'reply', message: this.header(yiaddr, ciaddr, options), maxLength: this.maxLength() };
  }

  private hostname(): Uint8Array | undefined {
    const name = this.client.host?.hostname ?? '';
    return name === '' ? undefined : encodeText(name);
  }

  private header(yiaddr: number, ciaddr: number, options: Map<number, Uint8Array>): DhcpMessage {
    const req = this.req;
    // RFC 3046 §2.2: a relay agent's information comes back in every reply, as the last option.
    const agentInfo = req.options.get(OPTION.RELAY_AGENT_INFO);
    if (agentInfo !== undefined) options.set(OPTION.RELAY_AGENT_INFO, agentInfo);
    return {
      op: BOOTREPLY,
      htype: req.htype,
      hlen: req.hlen,
      hops: 0,
      xid: req.xid,
      secs: 0,
      flags: req.flags,
      ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: req.giaddr,
      chaddr: req.chaddr,
      sname: ZERO_SNAME,
      file: ZERO_FILE,
      options,
    };
  }

  /** The client's maximum message size (option 57, an IP datagram) less IP and UDP headers, within
   * what every client accepts and what the link carries. */
  private maxLength(): number {
    const asked = readUint16(this.req.options.get(OPTION.MAX_MESSAGE_SIZE));
    const payload = asked === undefined ? 0 : asked - 28;
    return Math.min(Math.max(payload, 548), Math.max(this.plan.maxMessage, 548));
  }
}
