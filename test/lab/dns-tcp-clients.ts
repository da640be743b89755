// TCP clients for the DNS lab tests, run inside a VM's namespace; each prints one JSON line.
//   hold SERVER COUNT MS [SOURCE…]: opens COUNT idle connections to SERVER:53 (from the SOURCE
//     addresses in turn, if given), prints how many the server still has open a second later
//     ({"open": n}), and keeps them until MS have passed since the start.
//   send SERVER HEX: connects, sends the octets, and prints how long the server took to close the
//     connection ({"closedAfterMs": n}; -1 when it was still open after 5 s).
import net from 'node:net';

const [mode, server = '', ...rest] = process.argv.slice(2);
const started = performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection that is counted as open until it closes; resolves once it is settled either way. */
function open(localAddress: string | undefined, live: Set<net.Socket>): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server, port: 53, localAddress }, () => resolve());
    live.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      live.delete(socket);
      resolve();
    });
  });
}

async function hold(count: number, ms: number, sources: string[]): Promise<void> {
  const live = new Set<net.Socket>();
  const pick = (i: number) => (sources.length === 0 ? undefined : sources[i % sources.length]);
  await Promise.all(Array.from({ length: count }, (_, i) => open(pick(i), live)));
  await sleep(1000);
  process.stdout.write(`${JSON.stringify({ open: live.size })}\n`);
  await sleep(ms - (performance.now() - started));
  for (const socket of live) socket.destroy();
}

async function send(octets: Buffer): Promise<void> {
  const closedAfterMs = await new Promise<number>((resolve) => {
    const socket = net.connect(53, server, () => socket.write(octets));
    const sent = performance.now();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(-1);
    }, 5000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Math.round(performance.now() - sent));
    });
    socket.resume();
  });
  process.stdout.write(`${JSON.stringify({ closedAfterMs })}\n`);
}

if (mode === 'hold') {
  const [count = '0', ms = '0', ...sources] = rest;
  await hold(Number(count), Number(ms), sources);
} else if (mode === 'send') await send(Buffer.from(rest[0] ?? '', 'hex'));
else throw new Error(`unknown mode ${mode ?? ''}`);
