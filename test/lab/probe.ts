#!/usr/bin/env node
// A small TCP client and server for lab scenarios, run inside a namespace with `ip netns exec`:
//   probe.js serve PORT            echo server (prints "listening" when ready)
//   probe.js connect HOST PORT MS  one connection attempt: prints {"result":"connected"|"refused"|"timeout"|"error","ms":N}
//   probe.js hold HOST PORT        connects and keeps the connection: each stdin line is sent and
//                                  answered on stdout with "echo ok" or "echo timeout"
// nc cannot tell a timeout from a refusal reliably across versions; the scenarios need exactly that.
import net from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...args] = process.argv.slice(2);

function serve(port: number): void {
  net
    .createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
    })
    .listen(port, '0.0.0.0', () => process.stdout.write('listening\n'));
}

function connect(host: string, port: number, timeoutMs: number): void {
  const started = Date.now();
  const socket = net.connect({ host, port });
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
  const socket = net.connect({ host, port }, () => process.stdout.write('connected\n'));
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

if (mode === 'serve') serve(Number(args[0]));
else if (mode === 'connect') connect(args[0] ?? '', Number(args[1]), Number(args[2]));
else if (mode === 'hold') hold(args[0] ?? '', Number(args[1]));
else {
  process.stderr.write('usage: probe.js serve PORT | connect HOST PORT MS | hold HOST PORT\n');
  process.exitCode = 2;
}
