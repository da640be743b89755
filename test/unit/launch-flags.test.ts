// The lab starts the daemon with the same Node flags as the router VM image's systemd unit, so that
// what the lab and `make bench` measure is what runs in the image.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DAEMON_NODE_FLAGS } from '../lab/daemon.js';

const UNIT = fileURLToPath(new URL('../../../systemd/vrouterd.service', import.meta.url));

void t.test("the systemd unit gives node the lab's flags, before the daemon's script", (t) => {
  const execStart = readFileSync(UNIT, 'utf8')
    .split('\n')
    .find((line) => line.startsWith('ExecStart='));
  const words = execStart?.slice('ExecStart='.length).split(/\s+/) ?? [];
  const script = words.findIndex((w) => w.endsWith('/daemon/src/main.js'));
  t.ok(script > 0, 'ExecStart runs node on the daemon');
  t.same(words.slice(1, script), DAEMON_NODE_FLAGS);
  t.end();
});
