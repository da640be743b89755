// Real DHCP clients in lab VM namespaces — ISC dhclient, busybox udhcpc, dhcpcd 9 — each with a hook
// script standing in for its distribution's (dhclient-script, default.script, dhcpcd-run-hooks): it
// configures the VM's interface (address, MTU, classless or default routes) the way those do, records
// what the server said in a file the test reads, and never touches the host (no /etc/resolv.conf, no
// host name). dhcpcd runs with a private /run and /var/lib/dhcpcd in its own mount namespace.
import { type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inNamespace, ip, spawnInNamespace } from './exec.js';

export type ClientKind = 'dhclient' | 'udhcpc' | 'dhcpcd';

/** One event a client reported: what the server told it. */
export interface Told {
  readonly event: string;
  readonly ip: string;
  readonly mask: string;
  readonly routers: string;
  readonly dns: string;
  readonly domain: string;
  readonly hostname: string;
  readonly mtu: string;
  /** `destination via next-hop`, from the classless routes (121), else the routers. */
  readonly routes: readonly string[];
  readonly search: string;
  readonly ntp: string;
}

/** Shared by the hooks: configure routes from `dest gw` pairs, record one event. */
const COMMON = `
apply_routes() {
  while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
}
record() {
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\\n' "$@" >> "$EVENTS"
}
configure() { # ip mask mtu routes…
  for old in $(ip -4 -o addr show dev "$interface" | awk '{print $4}'); do
    [ "\${old%/*}" = "$1" ] || ip addr del "$old" dev "$interface"
  done
  ip addr replace "$1/$2" dev "$interface"
  mtu="$3"; shift 3
  [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
  apply_routes "$@"
}
`;

const DHCLIENT_HOOK = `
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    pairs=""
    if [ -n "$new_rfc3442_classless_static_routes" ]; then
      set -- $new_rfc3442_classless_static_routes
      while [ $# -ge 5 ]; do
        width=$1; shift; net=""; i=0
        while [ $i -lt 4 ]; do
          if [ $i -lt $(( (width + 7) / 8 )) ]; then octet=$1; shift; else octet=0; fi
          net="$net\${net:+.}$octet"; i=$((i + 1))
        done
        pairs="$pairs $net/$width $1.$2.$3.$4"; shift 4
      done
    else
      for r in $new_routers; do pairs="$pairs 0.0.0.0/0 $r"; done
    fi
    configure "$new_ip_address" "$new_subnet_mask" "$new_interface_mtu" $pairs
    record "$reason" "$new_ip_address" "$new_subnet_mask" "$new_routers" "$new_domain_name_servers" \\
      "$new_domain_name" "$new_host_name" "$new_interface_mtu" "$pairs" "$new_domain_search" "$new_ntp_servers" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface"; record "$reason" ;;
esac
`;

const UDHCPC_HOOK = `
case "$1" in
  deconfig) ip link set dev "$interface" up; ip -4 addr flush dev "$interface"; record deconfig ;;
  bound|renew)
    pairs="$staticroutes"
    [ -n "$pairs" ] || for r in $router; do pairs="$pairs 0.0.0.0/0 $r"; done
    configure "$ip" "$subnet" "$mtu" $pairs
    record "$1" "$ip" "$subnet" "$router" "$dns" "$domain" "$hostname" "$mtu" "$pairs" "$search" "$ntpsrv" ;;
  *) record "$1" ;;
esac
`;

// dhcpcd puts addresses and routes in place itself; its stock hooks set the MTU and resolv.conf.
const DHCPCD_HOOK = `
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    [ -n "$new_interface_mtu" ] && ip link set dev "$interface" mtu "$new_interface_mtu"
    record "$reason" "$new_ip_address" "$new_subnet_mask" "$new_routers" "$new_domain_name_servers" \\
      "$new_domain_name" "$new_host_name" "$new_interface_mtu" "$new_classless_static_routes" \\
      "$new_domain_search" "$new_ntp_servers" ;;
  NAK|EXPIRE|RELEASE|STOP) record "$reason" ;;
esac
`;

const DHCLIENT_CONF = `option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search,
  host-name, interface-mtu, rfc3442-classless-static-routes, ntp-servers;
`;

const DHCPCD_WRAPPER = `#!/bin/sh
# $1: a directory for /var/lib/dhcpcd; the rest: dhcpcd's arguments. Run under unshare -m.
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/dhcpcd
mount --bind "$1" /var/lib/dhcpcd
shift
exec dhcpcd "$@"
`;

const HOOKS: Record<ClientKind, string> = {
  dhclient: DHCLIENT_HOOK,
  udhcpc: UDHCPC_HOOK,
  dhcpcd: DHCPCD_HOOK,
};

/** A client on `ifname` of namespace `ns`, with its files in `dir`. */
export class DhcpClient {
  private child: ChildProcess | undefined;

  private constructor(
    readonly kind: ClientKind,
    readonly ns: string,
    readonly dir: string,
    readonly ifname: string,
  ) {}

  static async prepare(kind: ClientKind, ns: string, dir: string, ifname = 'eth0'): Promise<DhcpClient> {
    await mkdir(join(dir, 'dhcpcd-lib'), { recursive: true });
    const events = join(dir, 'events');
    const hook = `#!/bin/sh\nEVENTS='${events}'\n${COMMON}\n${HOOKS[kind]}`;
    await writeFile(join(dir, 'hook.sh'), hook);
    await chmod(join(dir, 'hook.sh'), 0o755);
    await writeFile(join(dir, 'dhclient.conf'), DHCLIENT_CONF);
    await writeFile(join(dir, 'dhcpcd.sh'), DHCPCD_WRAPPER);
    await chmod(join(dir, 'dhcpcd.sh'), 0o755);
    await writeFile(events, '');
    return new DhcpClient(kind, ns, dir, ifname);
  }

  private get hook(): string {
    return join(this.dir, 'hook.sh');
  }

  /** Gets a lease and returns: dhclient and dhcpcd leave, udhcpc quits after binding. `udhcpcFlags`
   * are added to udhcpc's command line (e.g. -B for broadcast replies). */
  async obtain(udhcpcFlags: readonly string[] = []): Promise<void> {
    const { ns, dir, ifname, hook } = this;
    const timeoutMs = 30_000;
    switch (this.kind) {
      case 'dhclient':
        // -1: one try; it goes to the background once bound (stopped by stop()).
        await inNamespace(
          ns,
          'dhclient',
          [
            '-1',
            '-cf',
            join(dir, 'dhclient.conf'),
            '-sf',
            hook,
            '-lf',
            join(dir, 'leases'),
            '-pf',
            join(dir, 'pid'),
            ifname,
          ],
          { timeoutMs },
        );
        return;
      case 'udhcpc':
        await inNamespace(
          ns,
          'udhcpc',
          [
            '-f',
            '-q',
            '-n',
            '-i',
            ifname,
            '-s',
            hook,
            '-t',
            '5',
            '-T',
            '1',
            ...UDHCPC_OPTIONS,
            ...udhcpcFlags,
          ],
          {
            timeoutMs,
          },
        );
        return;
      case 'dhcpcd':
        await inNamespace(
          ns,
          'unshare',
          [
            '-m',
            '--propagation',
            'private',
            join(dir, 'dhcpcd.sh'),
            join(dir, 'dhcpcd-lib'),
            ...DHCPCD_ARGS,
            '-c',
            hook,
            ifname,
          ],
          { timeoutMs },
        );
        return;
    }
  }

  /** udhcpc in the foreground for renew (SIGUSR1) and release-on-exit (-R) scenarios. */
  startUdhcpc(extra: readonly string[] = []): void {
    this.child = spawnInNamespace(this.ns, 'udhcpc', [
      '-f',
      '-R',
      '-i',
      this.ifname,
      '-s',
      this.hook,
      '-t',
      '5',
      '-T',
      '1',
      '-A',
      '1',
      ...UDHCPC_OPTIONS,
      ...extra,
    ]);
  }

  /** A signal to the foreground udhcpc: SIGUSR1 renews, SIGTERM releases (-R) and exits. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child !== undefined && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child?.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    if (this.kind === 'dhclient') {
      const pid = Number(await readFile(join(this.dir, 'pid'), 'utf8').catch(() => ''));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  }

  async events(): Promise<Told[]> {
    const text = await readFile(join(this.dir, 'events'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map(parseEvent);
  }

  /** Waits for an event matching `test` (newest first) and returns it. */
  async waitFor(test: (e: Told) => boolean, timeoutMs = 20_000): Promise<Told> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await this.events()).reverse().find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(
          `${this.kind} in ${this.ns}: no such event; saw ${JSON.stringify(await this.events())}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const UDHCPC_OPTIONS = ['-O', 'staticroutes', '-O', 'mtu', '-O', 'search', '-O', 'ntpsrv', '-O', 'domain'];
const DHCPCD_ARGS = [
  '-f',
  '/dev/null',
  '-4',
  '-A',
  '-B',
  '-1',
  '-t',
  '20',
  ...[
    'domain_name_servers',
    'domain_name',
    'domain_search',
    'host_name',
    'interface_mtu',
    'classless_static_routes',
    'ntp_servers',
  ].flatMap((o) => ['-o', o]),
];

function parseEvent(line: string): Told {
  const [
    event = '',
    ip = '',
    mask = '',
    routers = '',
    dns = '',
    domain = '',
    hostname = '',
    mtu = '',
    pairs = '',
    search = '',
    ntp = '',
  ] = line.split('|');
  const words = pairs.split(' ').filter((w) => w !== '');
  const routes: string[] = [];
  for (let i = 0; i + 1 < words.length; i += 2) routes.push(`${words[i] ?? ''} via ${words[i + 1] ?? ''}`);
  return { event, ip, mask, routers, dns, domain, hostname, mtu, routes, search, ntp };
}

export interface VmState {
  readonly addresses: readonly string[];
  readonly mtu: number;
  /** `destination via next-hop` for gateway routes, with `0.0.0.0/0` for the default route. */
  readonly routes: readonly string[];
}

interface IpAddr {
  addr_info?: { family: string; local: string; prefixlen: number }[];
  mtu?: number;
}
interface IpRoute {
  dst: string;
  gateway?: string;
}

/** The VM's interface as its kernel holds it. */
export async function vmState(ns: string, ifname = 'eth0'): Promise<VmState> {
  const addr = JSON.parse(
    (await inNamespace(ns, 'ip', ['-j', 'addr', 'show', 'dev', ifname])).stdout,
  ) as IpAddr[];
  const routes = JSON.parse(
    (await inNamespace(ns, 'ip', ['-j', '-4', 'route', 'show', 'dev', ifname])).stdout,
  ) as IpRoute[];
  return {
    addresses: (addr[0]?.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`),
    mtu: addr[0]?.mtu ?? 0,
    routes: routes
      .filter((r) => r.gateway !== undefined)
      .map((r) => `${r.dst === 'default' ? '0.0.0.0/0' : r.dst} via ${r.gateway ?? ''}`)
      .sort(),
  };
}

/** Back to an unconfigured VM NIC: no IPv4 addresses or routes, MTU 1500. */
export async function resetVm(ns: string, ifname = 'eth0'): Promise<void> {
  await ip('-n', ns, '-4', 'addr', 'flush', 'dev', ifname);
  await ip('-n', ns, '-4', 'route', 'flush', 'dev', ifname);
  await ip('-n', ns, 'link', 'set', 'dev', ifname, 'mtu', '1500');
}
