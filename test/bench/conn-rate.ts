// Load generator of the connection-rate benchmark, run inside the client's namespace:
// `node conn-rate.js HOST PORT SECONDS CONCURRENCY` prints completed connections per second. Each
// connection: connect, read the server's greeting, reset (RST, so no TIME_WAIT is left on either side
// to collide with the next run's tuples).
import { connect } from 'node:net';

const [host = '', port = '0', seconds = '5', concurrency = '64'] = process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;
let done = 0;
let failed = 0;

function worker(): Promise<void> {
  return new Promise((resolve) => {
    const next = () => {
      if (Date.now() >= until) return resolve();
      const socket = connect(Number(port), host);
      socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
      socket.once('data', () => {
        done++;
        socket.resetAndDestroy();
        next();
      });
      socket.once('error', () => {
        failed++;
        next();
      });
    };
    next();
  });
}

const started = Date.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
process.stdout.write(JSON.stringify({ rate: done / ((Date.now() - started) / 1000), done, failed }));
