#!/usr/bin/env node
// Short-connection load generator for `make bench`, run in a lab namespace:
//   conn-rate.js HOST PORT TOTAL CONCURRENCY   → {"rate": connections per second, "failed": N}
// Each connection: connect, close at once; CONCURRENCY of them in flight, TOTAL in all.
import net from 'node:net';

const [host = '', portText = '', totalText = '', concurrencyText = ''] = process.argv.slice(2);
const port = Number(portText);
const total = Number(totalText);
const concurrency = Number(concurrencyText);
let started = 0;
let finished = 0;
let failed = 0;
const t0 = process.hrtime.bigint();

function one(): void {
  if (started >= total) return;
  started++;
  const socket = net.connect({ host, port });
  socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
  socket.once('connect', () => socket.end());
  socket.on('data', () => undefined);
  socket.once('error', () => failed++);
  socket.once('close', () => {
    finished++;
    if (finished === total) {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(`${JSON.stringify({ rate: (total - failed) / seconds, failed })}\n`);
    } else one();
  });
}

for (let i = 0; i < concurrency; i++) one();
