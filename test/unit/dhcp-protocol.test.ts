// The server's answers (RFC 2131 §4.3) for every client state, against the lab network A plan (hosts
// vm1 10.1.0.11 and vm2 10.1.0.12, pool 10.1.0.10-10.1.0.14, gateway 10.1.0.1) and a real lease table.
import t from 'tap';
import { BOOTREPLY, BROADCAST_FLAG, MESSAGE_TYPE, OPTION } from '../../daemon/src/services/dhcp/codec.js';
import { NetworkLeases } from '../../daemon/src/services/dhcp/leases.js';
import {
  type Outcome,
  DECLINE_HOLD_MS,
  OFFER_HOLD_MS,
  respond,
} from '../../daemon/src/services/dhcp/protocol.js';
import type { DhcpNetworkPlan } from '../../daemon/src/services/dhcp/render.js';
import {
  type RequestFields,
  addressBytes,
  clientMessage,
  dhcpConfig,
  ip,
  networkPlan,
} from './dhcp-fixtures.js';

const NOW = 1_700_000_000_000;
const VM1 = '52:54:00:aa:00:11';
const POOL_CLIENT = '02:00:00:00:00:01';
const OTHER_CLIENT = '02:00:00:00:00:02';
const SERVER = addressBytes('10.1.0.1');
const { DISCOVER, REQUEST, DECLINE, RELEASE, INFORM, OFFER, ACK, NAK } = MESSAGE_TYPE;

class Network {
  changes = 0;
  readonly leases = new NetworkLeases('net-a', () => this.changes++);
  constructor(public plan: DhcpNetworkPlan = networkPlan()) {}
  send(fields: RequestFields, now = NOW): Outcome {
    return respond(this.plan, this.leases, clientMessage(fields), now);
  }
}

function reply(outcome: Outcome) {
  if (outcome.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(outcome)}`);
  const m = outcome.message;
  return {
    type: m.options.get(OPTION.MESSAGE_TYPE)?.[0],
    yiaddr: m.yiaddr,
    ciaddr: m.ciaddr,
    to: outcome.to,
    codes: [...m.options.keys()],
    option: (code: number) => [...(m.options.get(code) ?? [])],
    message: m,
  };
}

/** DISCOVER, then REQUEST (selecting) of what was offered; returns the ACKed address. */
function bind(net: Network, mac: string, now = NOW): number {
  const offered = reply(net.send({ type: DISCOVER, mac }, now)).yiaddr;
  const ack = reply(
    net.send(
      {
        type: REQUEST,
        mac,
        options: [
          [OPTION.SERVER_ID, SERVER],
          [OPTION.REQUESTED_IP, addressBytes(formatted(offered))],
        ],
      },
      now,
    ),
  );
  if (ack.type !== ACK) throw new Error(`not acked: ${ack.type}`);
  return ack.yiaddr;
}

function formatted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

t.test('a listed host is offered its address with the options it asked for, in its order', async (t) => {
  const net = new Network();
  const prl = [
    OPTION.SUBNET_MASK,
    OPTION.CLASSLESS_ROUTES,
    OPTION.HOSTNAME,
    OPTION.DNS_SERVERS,
    OPTION.DOMAIN_NAME,
  ];
  const offer = reply(
    net.send({ type: DISCOVER, mac: VM1, xid: 77, options: [[OPTION.PARAMETER_REQUEST_LIST, prl]] }),
  );
  t.equal(offer.type, OFFER);
  t.equal(offer.yiaddr, ip('10.1.0.11'));
  t.equal(offer.message.op, BOOTREPLY);
  t.equal(offer.message.xid, 77);
  t.same(offer.codes, [
    OPTION.MESSAGE_TYPE,
    OPTION.SERVER_ID,
    OPTION.LEASE_TIME,
    OPTION.RENEWAL_TIME,
    OPTION.REBINDING_TIME,
    OPTION.SUBNET_MASK,
    OPTION.ROUTER,
    OPTION.CLASSLESS_ROUTES,
    OPTION.HOSTNAME,
    OPTION.DNS_SERVERS,
    OPTION.DOMAIN_NAME,
  ]);
  t.same(offer.option(OPTION.SERVER_ID), SERVER);
  t.same(offer.option(OPTION.LEASE_TIME), [0, 0, 14, 16], '3600 s');
  t.same(offer.option(OPTION.RENEWAL_TIME), [0, 0, 7, 8], 'T1 1800 s');
  t.same(offer.option(OPTION.REBINDING_TIME), [0, 0, 12, 78], 'T2 3150 s');
  t.same(String.fromCharCode(...offer.option(OPTION.HOSTNAME)), 'vm1');
  t.notOk(offer.codes.includes(OPTION.MS_CLASSLESS_ROUTES), 'not asked for');
  t.equal(net.leases.size, 0, 'no hold is needed for a host address');
});

t.test('a client with no request list gets every option but the Microsoft route option', async (t) => {
  const codes = reply(new Network().send({ type: DISCOVER, mac: VM1 })).codes;
  for (const code of [6, 12, 15, 26, 28, 42, 119, 121]) t.ok(codes.includes(code), `option ${code}`);
  t.notOk(codes.includes(249));
  const windows = reply(new Network().send({ type: DISCOVER, mac: VM1, options: [[55, [1, 3, 249]]] }));
  t.same(
    windows.option(249),
    [...(networkPlan().options.get(121) ?? [])],
    'option 249 when asked: the routes',
  );
  t.notOk(windows.codes.includes(121));
});

t.test('replies go where RFC 2131 §4.1 says', async (t) => {
  const net = new Network();
  const unicast = reply(net.send({ type: DISCOVER, mac: VM1 })).to;
  t.same(unicast, { address: ip('10.1.0.11'), port: 68, arp: { ip: ip('10.1.0.11'), mac: VM1 } });
  const broadcast = reply(net.send({ type: DISCOVER, mac: VM1, flags: BROADCAST_FLAG }));
  t.same(broadcast.to, { address: 0xffffffff, port: 68 });
  t.equal(broadcast.message.flags, BROADCAST_FLAG, 'the flag is echoed');
  const renew = reply(net.send({ type: REQUEST, mac: VM1, ciaddr: ip('10.1.0.11') }));
  t.same(renew.to, { address: ip('10.1.0.11'), port: 68 }, 'renewing: to ciaddr');
  t.equal(renew.ciaddr, ip('10.1.0.11'));
});

t.test(
  'through a relay agent on the network: replies to it on port 67 with its option 82, NAKs with the broadcast bit',
  async (t) => {
    const net = new Network();
    const relay = ip('10.1.0.250');
    const agentInfo: [number, number[]] = [82, [1, 4, 0x65, 0x74, 0x68, 0x30]];
    const offer = reply(net.send({ type: DISCOVER, mac: POOL_CLIENT, giaddr: relay, options: [agentInfo] }));
    t.same(offer.to, { address: relay, port: 67 });
    t.equal(offer.message.giaddr, relay);
    t.same(
      [...(offer.message.options.get(82) ?? [])],
      agentInfo[1],
      "the relay agent's information echoed (RFC 3046)",
    );
    t.equal([...offer.message.options.keys()].at(-1), 82, 'as the last option');
    const nak = reply(
      net.send({
        type: REQUEST,
        mac: POOL_CLIENT,
        giaddr: relay,
        options: [[50, [10, 2, 0, 9]], agentInfo],
      }),
    );
    t.equal(nak.type, NAK);
    t.same(nak.to, { address: relay, port: 67 });
    t.equal(nak.message.flags & BROADCAST_FLAG, BROADCAST_FLAG);
    t.same([...(nak.message.options.get(82) ?? [])], agentInfo[1], 'in a NAK too');
  },
);

t.test(
  'selecting: ACK for the offered address, NAK for another, silence when another server was chosen',
  async (t) => {
    const net = new Network();
    t.equal(bind(net, VM1), ip('10.1.0.11'));
    const lease = net.leases.get(`hw:${VM1}`);
    t.match(lease, { ip: ip('10.1.0.11'), hostname: 'vm1', hostId: 'vm1-nic', offered: false });
    t.equal(lease?.expiresAt, NOW + 3600_000);
    t.equal(net.changes, 1, 'a bound lease is to be written');
    const wrong = net.send({
      type: REQUEST,
      mac: VM1,
      options: [
        [OPTION.SERVER_ID, SERVER],
        [OPTION.REQUESTED_IP, addressBytes('10.1.0.99')],
      ],
    });
    t.equal(reply(wrong).type, NAK);
    t.same(reply(wrong).to, { address: 0xffffffff, port: 68 });
    const elsewhere = net.send({
      type: REQUEST,
      mac: POOL_CLIENT,
      options: [
        [OPTION.SERVER_ID, addressBytes('10.1.0.2')],
        [OPTION.REQUESTED_IP, addressBytes('10.1.0.50')],
      ],
    });
    t.same(elsewhere, { kind: 'done', event: 'not_selected' });
  },
);

t.test('init-reboot: a host keeps its address, is refused another network’s or an old one', async (t) => {
  const net = new Network();
  const ask = (address: string) =>
    reply(net.send({ type: REQUEST, mac: VM1, options: [[OPTION.REQUESTED_IP, addressBytes(address)]] }))
      .type;
  t.equal(ask('10.1.0.11'), ACK);
  t.equal(ask('10.2.0.13'), NAK, 'another network');
  t.equal(ask('10.1.0.12'), NAK, "another host's");
});

t.test(
  'a host moved to another address by Patch is refused its old one at renewal and offered the new',
  async (t) => {
    const net = new Network();
    bind(net, VM1);
    net.plan = networkPlan(
      dhcpConfig((c) => {
        const host = c.networks[0]?.hosts[0];
        if (host) host.ip = '10.1.0.21';
      }),
    );
    const renewal = reply(net.send({ type: REQUEST, mac: VM1, ciaddr: ip('10.1.0.11') }));
    t.equal(renewal.type, NAK);
    t.equal(reply(net.send({ type: DISCOVER, mac: VM1 })).yiaddr, ip('10.1.0.21'));
    t.equal(bind(net, VM1), ip('10.1.0.21'));
  },
);

t.test(
  'pool: free addresses in order, skipping the gateway and hosts, one per client, held while offered',
  async (t) => {
    const net = new Network();
    const first = reply(net.send({ type: DISCOVER, mac: POOL_CLIENT })).yiaddr;
    t.equal(first, ip('10.1.0.10'));
    t.equal(
      reply(net.send({ type: DISCOVER, mac: POOL_CLIENT })).yiaddr,
      first,
      'the same client, the same offer',
    );
    t.equal(
      reply(net.send({ type: DISCOVER, mac: OTHER_CLIENT })).yiaddr,
      ip('10.1.0.13'),
      '.11 and .12 are hosts',
    );
    t.equal(reply(net.send({ type: DISCOVER, mac: '02:00:00:00:00:03' })).yiaddr, ip('10.1.0.14'));
    t.same(net.send({ type: DISCOVER, mac: '02:00:00:00:00:04' }), {
      kind: 'drop',
      reason: 'pool_exhausted',
    });
    t.equal(net.changes, 0, 'offers are not written');
    const later = NOW + OFFER_HOLD_MS + 1;
    net.leases.sweep(later);
    t.equal(
      reply(net.send({ type: DISCOVER, mac: '02:00:00:00:00:04' }, later)).yiaddr,
      ip('10.1.0.10'),
      'holds end',
    );
  },
);

t.test('pool: a client asking for a free address gets it; a client identifier is its identity', async (t) => {
  const net = new Network();
  const asked = net.send({
    type: DISCOVER,
    mac: POOL_CLIENT,
    options: [[OPTION.REQUESTED_IP, addressBytes('10.1.0.14')]],
  });
  t.equal(reply(asked).yiaddr, ip('10.1.0.14'));
  const withId = (mac: string) =>
    reply(net.send({ type: DISCOVER, mac, options: [[OPTION.CLIENT_ID, [1, 2, 0, 0, 0, 0, 9]]] }));
  const a = withId(OTHER_CLIENT);
  t.equal(withId('02:00:00:00:00:09').yiaddr, a.yiaddr, 'same client identifier, other MAC: same client');
  t.same(a.option(OPTION.CLIENT_ID), [1, 2, 0, 0, 0, 0, 9], 'echoed (RFC 6842)');
});

t.test('pool: RELEASE frees the address for the next client', async (t) => {
  const net = new Network();
  const address = bind(net, POOL_CLIENT);
  bind(net, OTHER_CLIENT);
  bind(net, '02:00:00:00:00:03');
  t.same(net.send({ type: DISCOVER, mac: '02:00:00:00:00:04' }), { kind: 'drop', reason: 'pool_exhausted' });
  const released = net.send({
    type: RELEASE,
    mac: POOL_CLIENT,
    ciaddr: address,
    options: [[OPTION.SERVER_ID, SERVER]],
  });
  t.match(released, { kind: 'done', event: 'releases' });
  t.equal(net.leases.get(`hw:${POOL_CLIENT}`), undefined);
  t.equal(bind(net, '02:00:00:00:00:04'), address);
});

t.test('RELEASE and DECLINE need our server identifier', async (t) => {
  const net = new Network();
  const address = bind(net, POOL_CLIENT);
  t.same(net.send({ type: RELEASE, mac: POOL_CLIENT, ciaddr: address }), {
    kind: 'drop',
    reason: 'no_server_id',
  });
  t.same(
    net.send({
      type: RELEASE,
      mac: POOL_CLIENT,
      ciaddr: address,
      options: [[OPTION.SERVER_ID, [10, 1, 0, 2]]],
    }),
    { kind: 'done', event: 'not_selected' },
  );
  t.ok(net.leases.get(`hw:${POOL_CLIENT}`), 'the lease stays');
});

t.test('DECLINE keeps the address out of the pool for an hour', async (t) => {
  const net = new Network();
  const address = bind(net, POOL_CLIENT);
  const declined = net.send({
    type: DECLINE,
    mac: POOL_CLIENT,
    options: [
      [OPTION.SERVER_ID, SERVER],
      [OPTION.REQUESTED_IP, addressBytes(formatted(address))],
    ],
  });
  t.match(declined, { kind: 'done', event: 'declines' });
  const clients = ['02:00:00:00:00:05', '02:00:00:00:00:06', '02:00:00:00:00:07'];
  const before = clients.map((mac) => net.send({ type: DISCOVER, mac }));
  t.same(
    before.map((o) => (o.kind === 'reply' ? formatted(o.message.yiaddr) : o.kind)),
    ['10.1.0.13', '10.1.0.14', 'drop'],
    'the declined address is not offered',
  );
  const later = NOW + DECLINE_HOLD_MS + 1;
  net.leases.sweep(later);
  t.equal(
    reply(net.send({ type: DISCOVER, mac: OTHER_CLIENT }, later)).yiaddr,
    address,
    'until the hold ends',
  );
});

t.test('a DECLINE of an address the client was not given changes nothing', async (t) => {
  const net = new Network();
  const address = bind(net, POOL_CLIENT);
  const options: RequestFields['options'] = [
    [OPTION.SERVER_ID, SERVER],
    [OPTION.REQUESTED_IP, addressBytes(formatted(address))],
  ];
  t.same(net.send({ type: DECLINE, mac: OTHER_CLIENT, options }), { kind: 'drop', reason: 'not_leased' });
  t.equal(net.leases.get(`hw:${POOL_CLIENT}`)?.ip, address, 'the holder keeps it');
  t.same([...net.leases.declined()], []);
});

t.test('a renewing pool client whose lease was lost keeps its address when it is free', async (t) => {
  const net = new Network();
  const renew = reply(net.send({ type: REQUEST, mac: POOL_CLIENT, ciaddr: ip('10.1.0.13') }));
  t.equal(renew.type, ACK);
  t.equal(net.leases.get(`hw:${POOL_CLIENT}`)?.ip, ip('10.1.0.13'));
  const taken = reply(net.send({ type: REQUEST, mac: OTHER_CLIENT, ciaddr: ip('10.1.0.13') }));
  t.equal(taken.type, NAK, 'not when another client holds it');
  const outside = reply(net.send({ type: REQUEST, mac: OTHER_CLIENT, ciaddr: ip('10.1.0.50') }));
  t.equal(outside.type, NAK, 'not outside the pools');
});

t.test('a pool lease on an address that became a host’s is refused at renewal', async (t) => {
  const net = new Network();
  const address = bind(net, POOL_CLIENT);
  net.plan = networkPlan(
    dhcpConfig((c) => {
      const host = c.networks[0]?.hosts[1];
      if (host) host.ip = formatted(address);
    }),
  );
  t.equal(reply(net.send({ type: REQUEST, mac: POOL_CLIENT, ciaddr: address })).type, NAK);
  t.equal(net.leases.get(`hw:${POOL_CLIENT}`), undefined);
});

t.test('INFORM: options without a lease, to the address the client has', async (t) => {
  const informed = reply(
    new Network().send({
      type: INFORM,
      mac: POOL_CLIENT,
      ciaddr: ip('10.1.0.77'),
      options: [
        [OPTION.PARAMETER_REQUEST_LIST, [OPTION.LEASE_TIME, OPTION.RENEWAL_TIME, OPTION.DNS_SERVERS]],
      ],
    }),
  );
  t.equal(informed.type, ACK);
  t.equal(informed.yiaddr, 0);
  t.same(informed.to, { address: ip('10.1.0.77'), port: 68 });
  t.same(
    informed.codes,
    [OPTION.MESSAGE_TYPE, OPTION.SERVER_ID, OPTION.SUBNET_MASK, OPTION.ROUTER, OPTION.DNS_SERVERS],
    'no lease times, even when asked',
  );
  t.same(new Network().send({ type: INFORM, mac: POOL_CLIENT, ciaddr: ip('10.2.0.7') }), {
    kind: 'drop',
    reason: 'bad_ciaddr',
  });
});

t.test('unknown clients get nothing without pools, and a NAK when they insist', async (t) => {
  const net = new Network(
    networkPlan(
      dhcpConfig((c) => {
        c.networks[0]?.dhcp?.pools.splice(0);
      }),
    ),
  );
  t.same(net.send({ type: DISCOVER, mac: POOL_CLIENT }), { kind: 'drop', reason: 'unknown_client' });
  t.equal(reply(net.send({ type: REQUEST, mac: POOL_CLIENT, options: [[50, [10, 1, 0, 10]]] })).type, NAK);
});

t.test('what is not a client request is dropped with the reason', async (t) => {
  const net = new Network();
  t.same(net.send({ type: DISCOVER, op: BOOTREPLY }), { kind: 'drop', reason: 'not_request' });
  t.same(net.send({ type: OFFER }), { kind: 'drop', reason: 'not_request' });
  t.same(
    net.send({ type: DISCOVER, giaddr: ip('10.9.0.1') }),
    { kind: 'drop', reason: 'relayed' },
    'another network',
  );
  for (const own of ['10.1.0.0', '10.1.0.255', '10.1.0.1'])
    t.same(net.send({ type: DISCOVER, giaddr: ip(own) }), { kind: 'drop', reason: 'relayed' }, own);
  t.same(net.send({ type: REQUEST, mac: VM1 }), { kind: 'drop', reason: 'no_requested_ip' });
  const noType = clientMessage({ type: DISCOVER });
  const options = new Map(noType.options);
  options.delete(OPTION.MESSAGE_TYPE);
  t.same(respond(net.plan, net.leases, { ...noType, options }, NOW), {
    kind: 'drop',
    reason: 'no_message_type',
  });
});

t.test('a request without a usable hardware address is dropped, never answered', async (t) => {
  const net = new Network();
  const discover = clientMessage({ type: DISCOVER, mac: POOL_CLIENT });
  for (const [htype, hlen] of [
    [1, 0],
    [1, 5],
    [1, 16],
    [6, 0],
  ] as const)
    t.same(
      respond(net.plan, net.leases, { ...discover, htype, hlen }, NOW),
      { kind: 'drop', reason: 'bad_header' },
      `htype ${htype} hlen ${hlen}`,
    );
  t.equal(net.leases.size, 0, 'nothing offered');
  t.equal(
    reply(respond(net.plan, net.leases, { ...discover, htype: 6 }, NOW)).type,
    OFFER,
    'htype 6, 6 bytes',
  );
  const identified = clientMessage({ type: DISCOVER, options: [[OPTION.CLIENT_ID, [0xff, 1, 2, 3, 4]]] });
  t.equal(
    reply(respond(net.plan, net.leases, { ...identified, htype: 32, hlen: 0 }, NOW)).type,
    OFFER,
    'InfiniBand (htype 32) sends no hardware address, its client identifier instead (RFC 4390)',
  );
});

t.test('a request with an option of the wrong length is dropped, never answered', async (t) => {
  const net = new Network();
  const requested: [number, number[]] = [OPTION.REQUESTED_IP, addressBytes('10.1.0.11')];
  const misSized: [number, number[]][] = [
    [OPTION.SERVER_ID, [10]],
    [OPTION.SERVER_ID, [...SERVER, 0]],
    [OPTION.REQUESTED_IP, [10, 1, 0]],
    [OPTION.LEASE_TIME, [0, 0, 14]],
    [OPTION.MAX_MESSAGE_SIZE, [5]],
    [OPTION.CLIENT_ID, [1]],
    [OPTION.CLIENT_ID, []],
  ];
  for (const option of misSized)
    t.same(
      net.send({ type: REQUEST, mac: VM1, options: [requested, option] }),
      { kind: 'drop', reason: 'bad_option_length' },
      `option ${option[0]} of ${option[1].length} bytes`,
    );
  const twoByteType = clientMessage({ type: DISCOVER, mac: VM1 });
  const options = new Map(twoByteType.options).set(OPTION.MESSAGE_TYPE, Uint8Array.of(DISCOVER, 0));
  t.same(respond(net.plan, net.leases, { ...twoByteType, options }, NOW), {
    kind: 'drop',
    reason: 'bad_option_length',
  });
  t.equal(net.leases.size, 0, 'nothing leased');
  t.equal(reply(net.send({ type: REQUEST, mac: VM1, options: [requested] })).type, ACK, 'sized right: ACK');
});

t.test('the client’s maximum message size is honoured within the link', async (t) => {
  const net = new Network();
  const sized = (size: number) =>
    net.send({ type: DISCOVER, mac: VM1, options: [[OPTION.MAX_MESSAGE_SIZE, [size >> 8, size & 255]]] });
  t.match(sized(1500), { maxLength: 1472 });
  t.match(sized(9000), { maxLength: 1472 }, 'not beyond the link MTU');
  t.match(sized(300), { maxLength: 548 }, 'never below what every client accepts');
  t.match(net.send({ type: DISCOVER, mac: VM1 }), { maxLength: 548 });
});
