#!/usr/bin/env node
// vrouterd: restore the last good config into the kernel, then serve the management API.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startApiServer } from './api/server.js';
import { USAGE, parseDaemonArgs } from './args.js';
import { GratuitousArp } from './drivers/arp.js';
import { LinkChanges } from './drivers/link-changes.js';
import { Conntrack } from './drivers/conntrack.js';
import { Netlink } from './drivers/netlink.js';
import { execTransport, libnftablesTransport } from './drivers/nftables.js';
import { NftElementChannel } from './drivers/nft-netlink.js';
import { systemdNotifier } from './drivers/systemd.js';
import { VERSION } from './install-paths.js';
import { createLogger } from './log.js';
import { Engine } from './reconcile/engine.js';
import { KernelFacts } from './reconcile/facts.js';
import { DnsServer } from './services/dns/server.js';
import { dnsStatus } from './services/dns/status.js';
import { DnsStep } from './services/dns/step.js';
import { DhcpServer } from './services/dhcp/server.js';
import { leaseMessage } from './services/dhcp/status.js';
import { DhcpStep } from './services/dhcp/step.js';
import { InterfacesStep } from './services/interfaces/step.js';
import { nicStatuses } from './services/interfaces/status.js';
import { natStatus, vipStatuses } from './services/nat/status.js';
import { NatStep } from './services/nat/step.js';
import { routeStatuses } from './services/routes/status.js';
import { RoutesStep } from './services/routes/step.js';
import { NftablesStep } from './services/ruleset/step.js';
import { managementApiOf } from './services/firewall/plan.js';
import { readRuleCounters } from './services/firewall/status.js';
import { StateStore } from './store/state-store.js';

/** How long link announcements must be quiet before the daemon looks at what changed. */
const LINK_SETTLE_MS = 100;

async function main(): Promise<void> {
  let args;
  try {
    args = parseDaemonArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`vrouterd: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (args === 'help') return void process.stdout.write(`${USAGE}\n`);
  if (args === 'version') return void process.stdout.write(`vrouterd ${VERSION}\n`);

  const log = createLogger(args.logLevel);
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  const startedAt = new Date();
  const notifier = systemdNotifier();
  const netlink = new Netlink();
  const nft = args.nftBackend === 'lib' ? libnftablesTransport() : execTransport();
  const dns = new DnsServer(log, (severity, message) => engine.serviceEvent('dns', severity, message));
  const dhcp = new DhcpServer({ stateDir: args.stateDir, log: log.child({ component: 'dhcp' }) });
  const managementApi = managementApiOf(args.listen);
  const arp = new GratuitousArp();
  const conntrack = new Conntrack();
  const elements = new NftElementChannel();
  // `--nft-elements backend` keeps set elements away from netlink: changed and read through libnftables.
  const elementChannel = args.nftElements === 'netlink' ? elements : undefined;
  // Several announcements come for one rename: follow them once they have settled.
  let settling: NodeJS.Timeout | undefined;
  const linkChanges = new LinkChanges(() => {
    clearTimeout(settling);
    settling = setTimeout(() => {
      engine.followLinks().catch((err: unknown) => log.error({ err }, 'following NIC links failed'));
    }, LINK_SETTLE_MS);
  });
  const kernelFacts = new KernelFacts(netlink, linkChanges);
  const engine = new Engine({
    steps: [
      new InterfacesStep(netlink, arp, log),
      new NftablesStep(nft, elementChannel, join(args.stateDir, 'nft-last-load.json')),
      new NatStep(conntrack),
      new RoutesStep(netlink),
      new DhcpStep(dhcp),
      new DnsStep(dns),
    ],
    store: new StateStore(args.stateDir),
    facts: async (fresh) => ({ links: await kernelFacts.links(fresh), managementApi }),
    nicWaitMs: args.nicWaitSeconds * 1000,
    log,
  });

  notifier.notify('STATUS=restoring the last good config');
  // Leases first: the DHCP sockets open as the config is restored, and must know who holds what.
  await dhcp.restoreLeases();
  await engine.restore();

  const tls =
    args.tlsCert !== undefined && args.tlsKey !== undefined && args.tlsCa !== undefined
      ? {
          cert: await readFile(args.tlsCert),
          key: await readFile(args.tlsKey),
          ca: await readFile(args.tlsCa),
        }
      : undefined;
  const api = await startApiServer(
    {
      engine,
      version: VERSION,
      startedAt,
      driftIntervalSeconds: args.driftIntervalSeconds,
      nicStatuses: (config) => nicStatuses(config, netlink),
      dnsStatus: () => dnsStatus(dns),
      firewallCounters: () => readRuleCounters(nft, elementChannel),
      vipStatuses: (config) => vipStatuses(config, netlink),
      natStatus: (config) => natStatus(config, nft, elementChannel),
      routeStatuses: (config) => routeStatuses(config, netlink),
      dhcpLeases: (networkId) => dhcp.leaseList(networkId === '' ? undefined : networkId).map(leaseMessage),
      log,
    },
    { address: args.listen, tls, controlSocket: args.controlSocket },
  );
  log.info(
    {
      version: VERSION,
      listen: args.listen,
      tls: tls !== undefined,
      controlSocket: args.controlSocket,
      generation: engine.committed.generation,
    },
    'vrouterd ready',
  );
  notifier.notify(`READY=1\nSTATUS=serving generation ${engine.committed.generation}`);

  const timers: NodeJS.Timeout[] = [];
  if (notifier.watchdogIntervalMs !== undefined)
    timers.push(setInterval(() => notifier.notify('WATCHDOG=1'), notifier.watchdogIntervalMs / 2));
  if (args.driftIntervalSeconds > 0)
    timers.push(
      setInterval(() => {
        engine.checkDrift().catch((err: unknown) => log.error({ err }, 'drift check failed'));
      }, args.driftIntervalSeconds * 1000),
    );

  // The kernel keeps forwarding with the applied state while the daemon is down or restarting.
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    notifier.notify('STOPPING=1');
    for (const t of timers) clearInterval(t);
    clearTimeout(settling);
    void Promise.all([api.shutdown().then(() => engine.idle()), dns.stop(), dhcp.close()]).then(() => {
      netlink.close();
      linkChanges.close();
      nft.close();
      elements.close();
      arp.close();
      conntrack.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

await main();
