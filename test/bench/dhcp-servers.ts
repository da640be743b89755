// The DHCP servers `make bench` compares, each run inside the lab's router namespace on network A's
// NIC (ens3) with the same subnet and pool, configs and state in a temporary directory: Kea 2.2 with a
// memfile lease database (single-threaded and with 2 threads), dnsmasq with --no-ping. And perfdhcp,
// the load generator, in a VM namespace. Nothing of theirs runs in the root namespace.
import { type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inNamespace, spawnInNamespace } from '../lab/exec.js';

export const BENCH_SUBNET = {
  cidr: '10.1.0.0/16',
  gateway: '10.1.0.1',
  poolStart: '10.1.1.0',
  poolEnd: '10.1.255.254',
};
export const LEASE_SECONDS = 3600;

/** A static host or a lease, as every server is given it. */
export interface Binding {
  readonly mac: string;
  readonly ip: string;
  readonly hostname: string;
}

export interface ServerSetup {
  /** Listed hosts (reservations). */
  readonly hosts?: readonly Binding[];
  /** Pool leases the server must find when it starts. */
  readonly leases?: readonly Binding[];
  /** A pool other than the default, e.g. one that avoids the hosts' addresses. */
  readonly pool?: { readonly start: string; readonly end: string };
}

/** A baseline server process in the router namespace. */
export class BaselineServer {
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    private readonly routerNs: string,
    private readonly command: (dir: string, setup: ServerSetup) => Promise<{ file: string; args: string[] }>,
  ) {}

  /** Starts afresh (new state) and resolves once port 67 is bound; returns the milliseconds that took. */
  async start(dir: string, setup: ServerSetup = {}): Promise<number> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const { file, args } = await this.command(dir, setup);
    const started = performance.now();
    const child = spawnInNamespace(this.routerNs, file, args, {
      ...process.env,
      KEA_PIDFILE_DIR: dir,
      KEA_LOCKFILE_DIR: dir,
    });
    this.child = child;
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitForPort67(this.routerNs, () =>
      child.exitCode !== null ? `${this.name} exited: ${output}` : undefined,
    );
    return performance.now() - started;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Polls until something in `ns` listens on UDP port 67. */
export async function waitForPort67(ns: string, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ss = await inNamespace(ns, 'ss', ['-Hlun', 'sport = :67']);
    if (ss.stdout.trim() !== '') return;
    const why = failed();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > deadline) throw new Error('nothing listens on port 67 after 60 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function kea(routerNs: string, link: string, threads: number): BaselineServer {
  return new BaselineServer(
    threads > 1 ? `Kea 2.2 memfile, ${threads} threads` : 'Kea 2.2 memfile',
    routerNs,
    async (dir, setup) => {
      const pool = setup.pool ?? { start: BENCH_SUBNET.poolStart, end: BENCH_SUBNET.poolEnd };
      const config = {
        Dhcp4: {
          'interfaces-config': { interfaces: [link] },
          'lease-database': {
            type: 'memfile',
            persist: true,
            name: join(dir, 'leases4.csv'),
            'lfc-interval': 0,
          },
          'valid-lifetime': LEASE_SECONDS,
          'multi-threading':
            threads > 1
              ? { 'enable-multi-threading': true, 'thread-pool-size': threads, 'packet-queue-size': 64 }
              : { 'enable-multi-threading': false },
          subnet4: [
            {
              id: 1,
              subnet: BENCH_SUBNET.cidr,
              pools: [{ pool: `${pool.start} - ${pool.end}` }],
              'option-data': [
                { name: 'routers', data: BENCH_SUBNET.gateway },
                { name: 'domain-name-servers', data: BENCH_SUBNET.gateway },
              ],
              reservations: (setup.hosts ?? []).map((h) => ({
                'hw-address': h.mac,
                'ip-address': h.ip,
                hostname: h.hostname,
              })),
            },
          ],
          loggers: [
            { name: 'kea-dhcp4', output_options: [{ output: join(dir, 'kea.log') }], severity: 'WARN' },
          ],
        },
      };
      await writeFile(join(dir, 'kea.json'), JSON.stringify(config));
      const expire = Math.floor(Date.now() / 1000) + LEASE_SECONDS;
      const csv = [
        'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context',
        ...(setup.leases ?? []).map(
          (l) => `${l.ip},${l.mac},,${LEASE_SECONDS},${expire},1,0,0,${l.hostname},0,`,
        ),
      ];
      await writeFile(join(dir, 'leases4.csv'), `${csv.join('\n')}\n`);
      return { file: 'kea-dhcp4', args: ['-c', join(dir, 'kea.json')] };
    },
  );
}

export function dnsmasq(routerNs: string, link: string): BaselineServer {
  return new BaselineServer('dnsmasq --no-ping', routerNs, async (dir, setup) => {
    const pool = setup.pool ?? { start: BENCH_SUBNET.poolStart, end: BENCH_SUBNET.poolEnd };
    const hosts = (setup.hosts ?? []).map((h) => `dhcp-host=${h.mac},${h.ip},${h.hostname}`);
    await writeFile(join(dir, 'hosts.conf'), `${hosts.join('\n')}\n`);
    const expire = Math.floor(Date.now() / 1000) + LEASE_SECONDS;
    const leases = (setup.leases ?? []).map((l) => `${expire} ${l.mac} ${l.ip} ${l.hostname} *`);
    await writeFile(join(dir, 'leases'), `${leases.join('\n')}\n`);
    return {
      file: 'dnsmasq',
      args: [
        '--keep-in-foreground',
        '--conf-file=' + join(dir, 'hosts.conf'),
        '--port=0',
        `--interface=${link}`,
        `--dhcp-range=${pool.start},${pool.end},255.255.0.0,${LEASE_SECONDS}`,
        '--dhcp-lease-max=200000',
        `--dhcp-leasefile=${join(dir, 'leases')}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--user=root',
        '--dhcp-authoritative',
        '--no-ping',
        '--quiet-dhcp',
        '--log-facility=/dev/null',
        `--dhcp-option=option:router,${BENCH_SUBNET.gateway}`,
        `--dhcp-option=option:dns-server,${BENCH_SUBNET.gateway}`,
      ],
    };
  });
}

export interface PerfResult {
  readonly rate: number;
  /** ACKs received per second of the run: completed four-way exchanges. */
  readonly exchangesPerSecond: number;
  /** Drop ratios in percent, DISCOVER-OFFER and REQUEST-ACK. */
  readonly offerDrops: number;
  readonly ackDrops: number;
}

/** perfdhcp at `rate` exchanges a second for `seconds` from `vmNs` (which needs an address: perfdhcp
 * sends as a relay agent, giaddr set to it). */
export async function perfdhcp(vmNs: string, rate: number, seconds: number): Promise<PerfResult> {
  const args = ['-4', '-l', 'eth0', '-B', '-R', '50000', '-r', String(rate), '-p', String(seconds)];
  const out = await inNamespace(vmNs, 'perfdhcp', args, {
    allowFailure: true,
    timeoutMs: (seconds + 60) * 1000,
  });
  const sections = out.stdout.split('***Statistics for: ');
  const section = (name: string) => sections.find((s) => s.startsWith(name)) ?? '';
  const number = (text: string, label: string) =>
    Number(new RegExp(`${label}: ([0-9.e+-]+|-?nan)`).exec(text)?.[1] ?? 'NaN');
  const offers = section('DISCOVER-OFFER');
  const acks = section('REQUEST-ACK');
  if (offers === '' || acks === '') throw new Error(`perfdhcp said: ${out.stdout}${out.stderr}`);
  const dropRatio = (text: string) => {
    const sent = number(text, 'sent packets');
    return sent > 0 ? (100 * number(text, 'drops')) / sent : 100;
  };
  return {
    rate,
    exchangesPerSecond: number(acks, 'received packets') / seconds,
    offerDrops: dropRatio(offers),
    ackDrops: dropRatio(acks),
  };
}

export function sustained(r: PerfResult): boolean {
  return r.offerDrops < 1 && r.ackDrops < 1;
}

/** Resident memory of a process in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 'NaN') / 1024;
}
