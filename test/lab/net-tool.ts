// A tiny server/client for lab scenarios, run inside namespaces (`node net-tool.js MODE …`). Every
// server answers with what the test must check: the peer address it saw, or the port it listens on.
//   serve-http PORT            HTTP: answers the client's address as the VM saw it
//   serve-tcp PORT…            TCP: writes "<local port> <peer address>" and closes
//   serve-udp PORT…            UDP: answers each datagram with "<local port> <peer address>"
//   serve-lines PORT           TCP: echoes every line back, keeps the connection open
//   tcp HOST PORT [MS]         connects, prints what the server wrote until it closes
//   udp HOST PORT [MS]         sends one datagram, prints the answer
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const ports = args.map(Number);
const fail = (message: string) => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};
const ready = () => process.stdout.write('ready\n');

switch (mode) {
  case 'serve-http':
    createHttpServer((req, res) => res.end(peer(req.socket.remoteAddress))).listen(ports[0], ready);
    break;
  case 'serve-tcp': {
    let waiting = ports.length;
    for (const port of ports)
      createServer((s) => {
        s.on('error', () => undefined);
        s.end(`${port} ${peer(s.remoteAddress)}`);
      }).listen(port, () => --waiting === 0 && ready());
    break;
  }
  case 'serve-udp': {
    let waiting = ports.length;
    for (const port of ports) {
      const socket = createSocket('udp4');
      socket.on('message', (_, peer) => socket.send(`${port} ${peer.address}`, peer.port, peer.address));
      socket.bind(port, () => --waiting === 0 && ready());
    }
    break;
  }
  case 'serve-lines':
    createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    }).listen(ports[0], ready);
    break;
  case 'tcp': {
    const [host, port, ms] = args;
    const socket = connect(Number(port), host ?? '');
    let data = '';
    socket.setTimeout(Number(ms ?? 3000), () => fail('timeout'));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', (e) => fail(e.message));
    socket.on('end', () => {
      process.stdout.write(data);
      process.exit(0);
    });
    break;
  }
  case 'udp': {
    const [host, port, ms] = args;
    const socket = createSocket('udp4');
    setTimeout(() => fail('timeout'), Number(ms ?? 3000));
    socket.on('message', (msg) => {
      process.stdout.write(msg.toString());
      process.exit(0);
    });
    socket.send('hello', Number(port), host ?? '');
    break;
  }
  default:
    fail(`unknown mode ${mode ?? ''}`);
}

/** The peer's IPv4 address without the `::ffff:` of a dual-stack socket. */
function peer(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}
