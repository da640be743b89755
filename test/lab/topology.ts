// The standard lab: a router namespace where vrouterd runs; two private networks (bridges in a
// switch namespace) with VM namespaces on them; a public "internet" namespace; a management
// namespace. Every name starts with a prefix unique to the run, and the whole lab is torn down on
// destroy(), on process exit and on SIGINT/SIGTERM, even when a test fails.
import { randomBytes } from 'node:crypto';
import { ip, removeNamespaceSync } from './exec.js';

/** Lab namespaces of test runs: `vrl-<owner pid>-<random>-<role>` (the sweeper removes orphans). */
export const RUN_PREFIX = /^vrl-(\d+)-[0-9a-f]+-/;
/** Namespaces of `make lab`: `vrlab-<random>-<role>`, owned by .lab/state.json. */
export const MAKE_LAB_PREFIX = 'vrlab-';

export interface RouterNic {
  readonly id: string;
  /** Kernel name inside the router namespace; deliberately unlike the config's ids. */
  readonly ifname: string;
  readonly mac: string;
}

export interface Vm {
  readonly ns: string;
  readonly mac: string;
  readonly ip: string;
  readonly network: 'a' | 'b';
}

export const ROUTER_NICS = {
  public: { id: 'pub0', ifname: 'ens5', mac: '52:54:00:00:00:05' },
  privateA: { id: 'priv-a', ifname: 'ens3', mac: '52:54:00:00:00:03' },
  privateB: { id: 'priv-b', ifname: 'ens4', mac: '52:54:00:00:00:04' },
  management: { id: 'mgmt0', ifname: 'ens6', mac: '52:54:00:00:00:06' },
} as const satisfies Record<string, RouterNic>;

export const ADDRESSES = {
  routerPublic: '203.0.113.2/24',
  internetHost: '203.0.113.1/24',
  routerManagement: '172.16.0.1/24',
  manager: '172.16.0.2/24',
  networkA: { cidr: '10.1.0.0/24', gateway: '10.1.0.1' },
  networkB: { cidr: '10.2.0.0/24', gateway: '10.2.0.1' },
} as const;

export interface TopologyOptions {
  /** Namespace prefix; default `vrl-<pid>-<random>-`. */
  readonly prefix?: string;
  /** Give VMs their addresses statically (before DHCP exists, or to test without it). */
  readonly staticVmAddresses?: boolean;
  /** Outlive this process (`make lab`): no teardown on exit; `make lab-down` removes it. */
  readonly persistent?: boolean;
}

export class Topology {
  readonly router: string;
  readonly switch: string;
  readonly internet: string;
  readonly manager: string;
  readonly vms: readonly Vm[];
  private destroyed = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.destroySync();
    process.kill(process.pid, signal);
  };
  private readonly onExit = () => this.destroySync();

  private constructor(readonly prefix: string) {
    this.router = `${prefix}rt`;
    this.switch = `${prefix}sw`;
    this.internet = `${prefix}inet`;
    this.manager = `${prefix}mgmt`;
    this.vms = [
      { ns: `${prefix}vm1`, mac: '52:54:00:aa:00:11', ip: '10.1.0.11', network: 'a' },
      { ns: `${prefix}vm2`, mac: '52:54:00:aa:00:12', ip: '10.1.0.12', network: 'a' },
      { ns: `${prefix}vm3`, mac: '52:54:00:bb:00:13', ip: '10.2.0.13', network: 'b' },
    ];
  }

  get namespaces(): string[] {
    return [this.router, this.switch, this.internet, this.manager, ...this.vms.map((v) => v.ns)];
  }

  static async create(options: TopologyOptions = {}): Promise<Topology> {
    const prefix = options.prefix ?? `vrl-${process.pid}-${randomBytes(3).toString('hex')}-`;
    const lab = new Topology(prefix);
    process.once('exit', lab.onExit);
    process.once('SIGINT', lab.onSignal);
    process.once('SIGTERM', lab.onSignal);
    try {
      await lab.build(options.staticVmAddresses ?? true);
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    if (options.persistent === true) lab.release();
    return lab;
  }

  private async build(staticVmAddresses: boolean): Promise<void> {
    for (const ns of this.namespaces) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    const sw = this.switch;
    for (const bridge of ['brpub', 'bra', 'brb']) {
      await ip('-n', sw, 'link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0');
      await ip('-n', sw, 'link', 'set', bridge, 'up');
    }
    const { public: pub, privateA, privateB, management } = ROUTER_NICS;
    await this.cable(this.router, pub.ifname, pub.mac, 'rt-pub', 'brpub');
    await this.cable(this.router, privateA.ifname, privateA.mac, 'rt-a', 'bra');
    await this.cable(this.router, privateB.ifname, privateB.mac, 'rt-b', 'brb');
    await this.cable(this.internet, 'eth0', '52:54:00:ee:00:01', 'inet', 'brpub');
    for (const [i, vm] of this.vms.entries())
      await this.cable(vm.ns, 'eth0', vm.mac, `vm${i + 1}`, vm.network === 'a' ? 'bra' : 'brb');

    // Management is a direct cable; the router's management address exists before vrouterd starts,
    // as on a real router VM (cloud-init or DHCP configure it at boot).
    await ip(
      '-n',
      this.router,
      'link',
      'add',
      management.ifname,
      'address',
      management.mac,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.manager,
    );
    await ip('-n', this.router, 'addr', 'add', ADDRESSES.routerManagement, 'dev', management.ifname);
    await ip('-n', this.router, 'link', 'set', management.ifname, 'up');
    await ip('-n', this.manager, 'addr', 'add', ADDRESSES.manager, 'dev', 'eth0');
    await ip('-n', this.manager, 'link', 'set', 'eth0', 'up');

    await ip('-n', this.internet, 'addr', 'add', ADDRESSES.internetHost, 'dev', 'eth0');
    if (staticVmAddresses)
      for (const vm of this.vms) {
        const gateway = vm.network === 'a' ? ADDRESSES.networkA.gateway : ADDRESSES.networkB.gateway;
        await ip('-n', vm.ns, 'addr', 'add', `${vm.ip}/24`, 'dev', 'eth0');
        await ip('-n', vm.ns, 'route', 'add', 'default', 'via', gateway);
      }
  }

  /** A veth from `ns` (with `ifname`, `mac`) to a port `port` of `bridge` in the switch namespace. */
  private async cable(ns: string, ifname: string, mac: string, port: string, bridge: string): Promise<void> {
    await ip(
      '-n',
      ns,
      'link',
      'add',
      ifname,
      'address',
      mac,
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.switch,
    );
    await ip('-n', this.switch, 'link', 'set', port, 'master', bridge, 'up');
    if (ns !== this.router) await ip('-n', ns, 'link', 'set', ifname, 'up');
  }

  /** Stop tearing the lab down when this process ends. */
  private release(): void {
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.release();
    // The router first: its processes (vrouterd, helpers) go before their links do.
    for (const ns of this.namespaces) removeNamespaceSync(ns);
  }
}
