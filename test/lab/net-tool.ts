// A tiny server/client for lab scenarios, run inside namespaces (`node net-tool.js MODE …`). Every
// server prints "ready" once it listens and answers with what the test must check: the peer address
// it saw, the port it listens on, or the bytes it got.
//   serve-http PORT            HTTP: answers the client's address as the VM saw it
//   serve-tcp PORT…            TCP: writes "<local port> <peer address>" and closes
//   serve-udp PORT…            UDP: answers each datagram with "<local port> <peer address>"
//   serve-lines PORT           TCP: echoes everything back, keeps the connection open
//   tcp HOST PORT [MS]         connects, prints what the server wrote until it closes
//   udp HOST PORT [MS]         sends one datagram, prints the answer
//   connect HOST PORT MS       one connection attempt: prints {"result":"connected"|"refused"|"timeout"|"error","ms":N}
//   hold HOST PORT             connects and keeps the connection: each stdin line is sent and
//                              answered on stdout with "echo ok" or "echo timeout"
// nc cannot tell a timeout from a refusal reliably across versions; the scenarios need exactly that.
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

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
  case 'connect':
    attempt(args[0] ?? '', Number(args[1]), Number(args[2]));
    break;
  case 'hold':
    hold(args[0] ?? '', Number(args[1]));
    break;
  default:
    fail(`unknown mode ${mode ?? ''}`);
}

/** The peer's IPv4 address without the `::ffff:` of a dual-stack socket. */
function peer(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

function attempt(host: string, port: number, timeoutMs: number): void {
  const started = Date.now();
  const socket = connect({ host, port });
  const done = (result: string) => {
    process.stdout.write(`${JSON.stringify({ result, ms: Date.now() - started })}\n`);
    socket.destroy();
    process.exit(0);
  };
  const timer = setTimeout(() => done('timeout'), timeoutMs);
  socket.once('connect', () => {
    clearTimeout(timer);
    done('connected');
  });
  socket.once('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    done(e.code === 'ECONNREFUSED' ? 'refused' : 'error');
  });
}

function hold(host: string, port: number): void {
  const socket = connect({ host, port }, () => process.stdout.write('connected\n'));
  socket.on('error', (e) => {
    process.stdout.write(`error ${e.message}\n`);
    process.exit(1);
  });
  let pending: { text: string; timer: NodeJS.Timeout } | undefined;
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
    if (pending !== undefined && received.includes(pending.text)) {
      clearTimeout(pending.timer);
      pending = undefined;
      received = '';
      process.stdout.write('echo ok\n');
    }
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const text = `${line}\n`;
    pending = {
      text,
      timer: setTimeout(() => {
        pending = undefined;
        process.stdout.write('echo timeout\n');
      }, 2000),
    };
    socket.write(text);
  });
  process.stdin.on('end', () => socket.destroy());
}
