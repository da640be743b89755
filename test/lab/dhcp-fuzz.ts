// A hostile DHCP client for the lab: sends random and malformed packets at a server, from port 68 of a
// VM namespace. `node dhcp-fuzz.js COUNT SEED [UNICAST_TO]` prints how many it sent of each kind.
// Kinds: pure noise; valid DISCOVER/REQUEST/RELEASE/DECLINE/INFORM from random MACs; and those
// truncated, bit-flipped, with a bad cookie, an option running past the end, option overload with
// garbage or itself inside file/sname, thousands of one-byte options, a relay address, a reply opcode.
import dgram from 'node:dgram';
import {
  BOOTREQUEST,
  type DhcpMessage,
  OPTION,
  encodeMessage,
} from '../../daemon/src/services/dhcp/codec.js';

/** mulberry32: a seeded generator, so a failing run can be repeated. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const [count = 20000, seed = 1] = process.argv.slice(2, 4).map(Number);
const unicastTo = process.argv[4];
const random = generator(seed);
const int = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

function valid(): Uint8Array {
  const chaddr = new Uint8Array(16);
  chaddr.set([2, ...bytes(5)]);
  const type = 1 + int(8);
  const options = new Map<number, Uint8Array>([[OPTION.MESSAGE_TYPE, Uint8Array.of(type)]]);
  if (random() < 0.5) options.set(OPTION.REQUESTED_IP, Uint8Array.of(10, 1, 0, int(256)));
  if (random() < 0.5) options.set(OPTION.SERVER_ID, random() < 0.5 ? Uint8Array.of(10, 1, 0, 1) : bytes(4));
  if (random() < 0.5) options.set(OPTION.PARAMETER_REQUEST_LIST, bytes(int(300)));
  if (random() < 0.3) options.set(OPTION.CLIENT_ID, bytes(int(40)));
  if (random() < 0.3) options.set(OPTION.MAX_MESSAGE_SIZE, bytes(2));
  if (random() < 0.3) options.set(OPTION.HOSTNAME, bytes(int(80)));
  const message: DhcpMessage = {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: int(2 ** 32),
    secs: 0,
    flags: random() < 0.5 ? 0x8000 : 0,
    ciaddr: random() < 0.3 ? (10 << 24) | (1 << 16) | int(256) : 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options,
  };
  return encodeMessage(message, 1400).bytes.slice();
}

type Mutation = (packet: Uint8Array) => Uint8Array;
const MUTATIONS: Record<string, Mutation> = {
  noise: () => bytes(int(1500)),
  valid: (p) => p,
  truncated: (p) => p.subarray(0, int(p.length)),
  flipped: (p) => {
    for (let i = 0; i < 1 + int(20); i++) p[int(p.length)] = int(256);
    return p;
  },
  bad_cookie: (p) => {
    const at = 236 + int(4);
    p[at] = (p[at] ?? 0) ^ (1 + int(255));
    return p;
  },
  overrun: (p) => {
    const at = 243 + int(Math.max(1, p.length - 245));
    p[at] = 12;
    p[at + 1] = 255;
    return p.subarray(0, Math.min(p.length, at + 2 + int(200)));
  },
  overload_garbage: (p) => {
    p.set([OPTION.OVERLOAD, 1, 1 + int(3)], 243);
    p.set(bytes(64), 44);
    p.set(bytes(128), 108);
    return p;
  },
  overload_self: (p) => {
    p.set([OPTION.OVERLOAD, 1, 3], 243);
    p.fill(0, 44, 236);
    for (let i = 44; i < 234; i += 3) p.set([OPTION.OVERLOAD, 1, 3], i);
    return p;
  },
  tiny_options: () => {
    const p = new Uint8Array(1400);
    p.set(valid().subarray(0, 240));
    p.set([OPTION.MESSAGE_TYPE, 1, 1], 240);
    for (let i = 243; i + 1 < p.length; i += 2) p.set([1 + int(254), 0], i);
    return p;
  },
  relayed: (p) => {
    p.set([10, 9, 0, 1], 24);
    return p;
  },
  reply_opcode: (p) => {
    p[0] = 2;
    return p;
  },
  huge_hlen: (p) => {
    p[2] = 17 + int(239);
    return p;
  },
};
const kinds = Object.keys(MUTATIONS);

const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((resolve) => socket.bind(68, resolve));
socket.setBroadcast(true);
socket.on('message', () => undefined);
const sent: Record<string, number> = {};
for (let i = 0; i < count; i++) {
  const kind = kinds[int(kinds.length)] ?? 'noise';
  const mutate = MUTATIONS[kind] ?? ((p: Uint8Array) => p);
  const packet = mutate(valid());
  const to = unicastTo !== undefined && random() < 0.3 ? unicastTo : '255.255.255.255';
  await new Promise<void>((resolve) => socket.send(packet, 67, to, () => resolve()));
  sent[kind] = (sent[kind] ?? 0) + 1;
}
socket.close();
process.stdout.write(`${JSON.stringify(sent)}\n`);
