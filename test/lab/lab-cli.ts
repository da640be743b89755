// `make lab` / `make lab-down`: the standard topology with vrouterd running the example config,
// left up for a person to explore; its names and the daemon's pid are kept in .lab/state.json.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { removeNamespaceSync } from './exec.js';
import { EXAMPLE_CONFIG, REPO_ROOT, labConfig } from './lab-config.js';
import { LabDaemon, VROUTERCTL } from './daemon.js';
import { leaveServing } from './traffic.js';
import { ADDRESSES, MAKE_LAB_PREFIX, Topology } from './topology.js';

/** `make lab` keeps its state in .lab/; tests point VROUTERD_LAB_DIR elsewhere so a person's lab is left alone. */
const LAB_DIR = process.env['VROUTERD_LAB_DIR'] ?? join(REPO_ROOT, '.lab');
const STATE = join(LAB_DIR, 'state.json');

interface LabState {
  readonly namespaces: string[];
  readonly daemonPid: number | undefined;
  readonly stateDir: string;
}

async function up(): Promise<void> {
  await down(true);
  await mkdir(LAB_DIR, { recursive: true });
  const topology = await Topology.create({
    prefix: `${MAKE_LAB_PREFIX}${randomBytes(2).toString('hex')}-`,
    persistent: true,
  });
  const stateDir = join(LAB_DIR, 'state');
  await mkdir(stateDir, { recursive: true });
  const state: LabState = { namespaces: topology.namespaces, daemonPid: undefined, stateDir };
  await writeFile(STATE, JSON.stringify(state, null, 2));
  const listen = `${ADDRESSES.routerManagement.split('/')[0] ?? ''}:7800`;
  const daemon = await LabDaemon.start(
    topology.router,
    { listen, detached: true, driftIntervalSeconds: 10 },
    stateDir,
  );
  await writeFile(STATE, JSON.stringify({ ...state, daemonPid: daemon.pid }, null, 2));
  const config = labConfig();
  const response = await daemon.client.apply({ config });
  daemon.client.close();
  // Web servers that answer each client with the address they saw it come from: NAT made visible.
  const [vm1, , vm3] = topology.vms;
  const eip = config.vips.find((v) => v.id === config.eips[0]?.vipId)?.ip ?? '';
  const internet = ADDRESSES.internetHost.split('/')[0] ?? '';
  if (vm1 !== undefined) await leaveServing(vm1.ns, 80);
  await leaveServing(topology.internet, 80);

  const ctl = join(LAB_DIR, 'vrouterctl');
  await writeFile(
    ctl,
    `#!/bin/sh\nexec "${process.execPath}" "${VROUTERCTL}" --socket "${daemon.socket}" "$@"\n`,
  );
  await chmod(ctl, 0o755);
  const lab = relative(process.cwd(), LAB_DIR) || '.';
  process.stdout.write(`
vrouterd is running in namespace ${topology.router} with ${EXAMPLE_CONFIG.slice(REPO_ROOT.length)} (generation ${response.generation}).

Look inside:
  ${lab}/vrouterctl show status          generation, services, NICs
  ${lab}/vrouterctl show config          the config it holds (YAML)
  ${lab}/vrouterctl show firewall        rule sets, rules and counters (explain: see ${lab}/vrouterctl --help)
  ${lab}/vrouterctl show dns             the DNS server: listeners, cache, upstreams
  ${lab}/vrouterctl watch                events as they happen (Ctrl-C to stop)
  ${lab}/vrouterctl apply -f examples/lab.yaml     apply a (changed) config
  tail -f ${lab}/state/vrouterd.log      the daemon's JSON log

Namespaces (prefix ${topology.prefix}):
  ${topology.router}     the router; try: ip -n ${topology.router} addr
  ${vm1?.ns ?? ''}    a VM on network A (${vm1?.ip ?? ''}); try: ip netns exec ${vm1?.ns ?? ''} ping -c1 ${ADDRESSES.networkA.gateway}
  ${vm3?.ns ?? ''}    a VM on network B (${vm3?.ip ?? ''}); try: ip netns exec ${vm3?.ns ?? ''} ping -c1 ${vm1?.ip ?? ''}
  ${topology.internet}    "the internet" (${ADDRESSES.internetHost})
  ${topology.manager}    the management plane; the API listens on ${listen} (plaintext, lab only):
      ip netns exec ${topology.manager} node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \\
        http://${listen}/vrouter.v1.RouterService/GetStatus

NAT at work (each web server answers with the address the client came from):
  ip netns exec ${topology.internet} curl http://${eip}/     vm1 through its EIP, sees ${internet}
  ip netns exec ${vm1?.ns ?? ''} curl http://${internet}/      the internet sees vm1 as its EIP ${eip}
  ${lab}/vrouterctl show nat             EIPs, port forwards and SNAT with their counters

Drift repair: break the router behind the daemon's back, then ask it to check (it also checks every 10 s):
  ip netns exec ${topology.router} nft flush ruleset; ip -n ${topology.router} addr flush dev ens3
  ${lab}/vrouterctl check-drift
Remove everything: make lab-down
`);
}

async function down(quiet = false): Promise<void> {
  if (!existsSync(STATE)) {
    if (!quiet) process.stdout.write('no lab is up\n');
    return;
  }
  const state = JSON.parse(readFileSync(STATE, 'utf8')) as LabState;
  if (state.daemonPid !== undefined) {
    try {
      process.kill(state.daemonPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const ns of state.namespaces) removeNamespaceSync(ns);
  await rm(LAB_DIR, { recursive: true, force: true });
  if (!quiet) process.stdout.write(`removed ${state.namespaces.length} namespaces\n`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  process.stderr.write('usage: lab-cli up|down\n');
  process.exitCode = 2;
}
