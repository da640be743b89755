#!/usr/bin/env node
// vrouterctl: the operator's console tool. Talks to vrouterd over its unix socket (or the management
// address with mTLS). Tables for people, --json for scripts. This file parses the command line and
// dispatches; each command lives in commands/ (writes, explain, watch, drift) or show/ (one per view).
import { type Command, UsageError } from './command.js';
import { checkDrift } from './commands/check-drift.js';
import { explain } from './commands/explain.js';
import { watch } from './commands/watch.js';
import { apply, patch } from './commands/write.js';
import { connect } from './connection.js';
import { reportFailure } from './failure.js';
import { parseCommandLine } from './options.js';
import { showConfig } from './show/config.js';
import { showDhcpLeases } from './show/dhcp-leases.js';
import { showDns } from './show/dns.js';
import { showFirewall } from './show/firewall.js';
import { showNat } from './show/nat.js';
import { showRoutes } from './show/routes.js';
import { showStatus } from './show/status.js';
import { showVips } from './show/vips.js';

const USAGE = `usage: vrouterctl [connection] COMMAND [--json]

commands:
  apply -f FILE [--expected-generation N] [--validate-only]
                       replace the whole config with FILE (RouterConfig, proto3 JSON or YAML)
  patch -f FILE [--expected-generation N] [--validate-only]
                       apply {operations: [...]} from FILE (PatchRequest, JSON or YAML)
  show config          the config the router holds (YAML; --json for proto3 JSON)
  show status          generation, services, NICs, drift checks
  show dns             DNS server: listeners, counters, cache size and hit rate, upstream health
  show firewall        rule sets, their rules in evaluation order and per-rule counters
  explain --nic ID --direction in|out --protocol tcp|udp|icmp --source IP --destination IP
          [--sport N --dport N (tcp, udp)] [--icmp-type N] [--icmp-code N]
          [--state new|established|related|invalid] [--dnat]
                       which firewall rule decides such a packet, and why
  show vips            VIPs: NIC, whether the kernel holds them, what uses them
  show nat             EIPs, port forwards and SNAT with packet/byte counters
  show routes          static routes (installed or not) and the kernel's main table
  show dhcp leases [--network ID]
                       the DHCP leases the router holds (hosts and pool clients)
  watch                stream events (applied generations, drift repaired) until Ctrl-C
  check-drift          compare the kernel with the config now and repair differences

connection (default: the console socket):
  --socket PATH        vrouterd's unix socket (default $VROUTERCTL_SOCKET or /run/vrouterd/control.sock)
  --server HOST:PORT   the management API instead; with --tls-cert/--tls-key/--tls-ca for mTLS`;

const COMMANDS = new Map<string, Command>([
  ['apply', apply],
  ['patch', patch],
  ['show config', showConfig],
  ['show status', showStatus],
  ['show dns', showDns],
  ['show firewall', showFirewall],
  ['explain', explain],
  ['show vips', showVips],
  ['show nat', showNat],
  ['show routes', showRoutes],
  ['show dhcp leases', showDhcpLeases],
  ['watch', watch],
  ['check-drift', checkDrift],
]);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const expectedGeneration = generationOption(values['expected-generation']);
  const client = await connect(values);
  try {
    const name = positionals.join(' ');
    const command = COMMANDS.get(name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    return await command({ client, options: values, json: values.json, expectedGeneration });
  } finally {
    client.close();
  }
}

/** Generations are uint64 on the wire. */
const MAX_GENERATION = 2n ** 64n - 1n;

function generationOption(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || BigInt(value) > MAX_GENERATION)
    throw new UsageError(`--expected-generation ${value}: expected a generation number`);
  return BigInt(value);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`vrouterctl: ${e.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    reportFailure(e);
    process.exitCode = 1;
  },
);
