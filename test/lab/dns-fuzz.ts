// A fuzzer for the lab: `node dns-fuzz.js SERVER COUNT SEED` (run inside a VM namespace) sends COUNT
// malformed or mangled DNS messages over UDP to SERVER port 53 (random bytes, real queries with
// octets changed or cut short, compression loops, absurd counts, responses instead of queries,
// broken OPT records) and garbage over a few TCP connections, then prints what it sent as JSON.
import dgram from 'node:dgram';
import net from 'node:net';

const [server = '10.1.0.1', countText = '10000', seedText = '1'] = process.argv.slice(2);
const count = Number(countText);
let seed = Number(seedText) >>> 0 || 1;

/** xorshift32: the same seed sends the same packets, so a failure can be replayed. */
function random(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}
const int = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

function query(name: string, type = 1, opt = false): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([int(256), int(256), 1, 0, 0, 1, 0, 0, 0, 0, 0, opt ? 1 : 0]);
  const question = Buffer.concat([...labels, Buffer.from([0, type >> 8, type & 255, 0, 1])]);
  const record = opt ? Buffer.from([0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, question, record]);
}

const NAMES = ['vm1.a.lab.internal', 'www.example.test', '11.0.1.10.in-addr.arpa', 'x'];
const KINDS: (() => Buffer)[] = [
  () => bytes(int(600)),
  () => {
    const msg = query(NAMES[int(NAMES.length)] ?? 'x', int(65536), random() < 0.5);
    for (let i = 0, n = 1 + int(4); i < n; i++) msg[int(msg.length)] = int(256);
    return msg;
  },
  () => query(NAMES[int(NAMES.length)] ?? 'x', 1, true).subarray(0, int(40)),
  // Compression pointer to itself, then forward.
  () =>
    Buffer.concat([Buffer.from([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]),
  () =>
    Buffer.concat([Buffer.from([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 40, 0, 1, 0, 1])]),
  // Counts far beyond the message.
  () =>
    Buffer.concat([
      Buffer.from([1, 2, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      bytes(int(100)),
    ]),
  // A response (QR set) to the server.
  () => {
    const msg = query('vm1.a.lab.internal');
    msg[2] = 0x81;
    msg[3] = 0x80;
    return msg;
  },
  // Labels longer than 63 and names longer than 255.
  () =>
    Buffer.concat([
      Buffer.from([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64]),
      bytes(64),
      Buffer.from([0, 0, 1, 0, 1]),
    ]),
  () =>
    Buffer.concat([
      Buffer.from([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.alloc(300, 1),
      Buffer.from([0, 0, 1, 0, 1]),
    ]),
  // OPT records: two of them, one with a broken option list, one with a name.
  () => {
    const msg = query('vm2.a.lab.internal', 1, true);
    msg.writeUInt16BE(2, 10);
    return Buffer.concat([msg, msg.subarray(msg.length - 11)]);
  },
  () => {
    const msg = query('vm2.a.lab.internal', 1, true);
    msg.writeUInt16BE(5, msg.length - 2);
    return Buffer.concat([msg, Buffer.from([0, 10, 0])]);
  },
];

async function fuzzUdp(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => undefined);
  socket.on('message', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  for (let i = 0; i < count; i++) {
    const kind = KINDS[int(KINDS.length)];
    if (kind !== undefined) socket.send(kind(), 53, server);
    if (i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.close();
  return count;
}

async function fuzzTcp(connections: number): Promise<number> {
  for (let c = 0; c < connections; c++)
    await new Promise<void>((resolve) => {
      const socket = net.connect(53, server, () => {
        for (let i = 0; i < 20; i++) {
          const kind = KINDS[int(KINDS.length)];
          const body = kind === undefined ? bytes(10) : kind();
          const frame = Buffer.alloc(2 + body.length);
          // Sometimes a length that lies.
          frame.writeUInt16BE(random() < 0.2 ? int(65536) : body.length, 0);
          body.copy(frame, 2);
          socket.write(frame);
        }
        socket.end();
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.setTimeout(2000, () => socket.destroy());
      socket.resume();
    });
  return connections;
}

const udp = await fuzzUdp();
const tcp = await fuzzTcp(20);
process.stdout.write(`${JSON.stringify({ udp, tcp })}\n`);
