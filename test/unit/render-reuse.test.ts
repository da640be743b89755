// Renderers reused while their inputs are the same (reconcile/reuse.ts): each reads nothing but
// the inputs it names (or a reused result would be stale after a change to what it left out), a
// render of the same sections hands back the same plans, and a change to one of them renders anew.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { EipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { HostInNetworkSchema, PatchOperationSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { REUSED_RENDERERS, render } from '../../daemon/src/reconcile/rendered.js';
import { reusingLast } from '../../daemon/src/reconcile/reuse.js';
import { type LinkFacts, planInterfaces } from '../../daemon/src/services/interfaces/plan.js';
import { renderNat } from '../../daemon/src/services/nat/render.js';
import { DnsServer } from '../../daemon/src/services/dns/server.js';
import { labConfig } from '../lab/lab-config.js';

function linksOf(config: RouterConfig): LinkFacts {
  return new Map(config.nics.map((n, i) => [n.mac.toLowerCase(), { index: i + 2, name: `eth${i}` }]));
}

/** An object that notes the names of the properties read from it. */
function watched<T extends object>(target: T, reads: Set<string>): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string') reads.add(key);
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
}

/**
 * Per argument: the property names read, or 'whole' when the argument itself is an input. A Map
 * (link facts) cannot be watched: the renderer counts as reading all of it, so an input must be it.
 */
function readsOf(
  args: readonly object[],
  call: (proxies: object[]) => unknown,
  side: 'inputs' | 'renderer',
): (Set<string> | 'whole')[] {
  const reads = args.map(() => new Set<string>());
  const proxies = args.map((a, i) => (a instanceof Map ? a : watched(a, reads[i] ?? new Set())));
  const result = call(proxies);
  const values = side === 'inputs' && Array.isArray(result) ? (result as unknown[]) : [];
  return reads.map((r, i) =>
    values.includes(proxies[i]) || (side === 'renderer' && args[i] instanceof Map) ? 'whole' : r,
  );
}

t.test('each reused renderer reads only the inputs it names', async (t) => {
  const config = labConfig();
  const links = linksOf(config);
  const plain = planInterfaces(config, links);
  const interfaces = { ...plain, vips: renderNat(config, plain).vips };
  const api = { address: undefined, port: 9443 };
  const cases = {
    interfaces: [config, links],
    firewall: [config, interfaces, api],
    dns: [config, interfaces],
    dhcp: [config, interfaces],
  } as const;
  for (const [name, { inputs, render: renderer }] of Object.entries(REUSED_RENDERERS)) {
    const args = cases[name as keyof typeof cases];
    const named = readsOf(args, (p) => (inputs as (...a: object[]) => unknown[])(...p), 'inputs');
    const read = readsOf(
      args,
      (p) => {
        const plan = (renderer as (...a: object[]) => unknown)(...p);
        // The firewall plan collects the router's addresses when first asked: ask it here.
        if (name === 'firewall') (plan as { isRouterAddress(a: number): boolean }).isRouterAddress(0);
        return plan;
      },
      'renderer',
    );
    read.forEach((keys, i) => {
      const allowed = named[i];
      if (allowed === 'whole') return;
      const missing = keys === 'whole' ? ['(all of it)'] : [...keys].filter((k) => !allowed?.has(k));
      t.same(missing, [], `${name}: argument ${i} reads only what its inputs name`);
    });
    t.ok(
      read.some((keys) => keys !== 'whole' && keys.size > 0),
      `${name}: the check saw the renderer read something`,
    );
  }
});

t.test(
  'a render of the same sections hands back the same plans; a changed section renders anew',
  async (t) => {
    const config = labConfig();
    const facts = { links: linksOf(config) };
    const first = render(config, facts);
    t.ok(
      first.dns.listeners.length > 0 && first.dhcp.networks.length > 0,
      'the lab config serves DNS and DHCP',
    );

    const eip = create(EipSchema, { id: 'e-reuse', vipId: config.vips[0]?.id ?? '', privateIp: '10.1.0.99' });
    const withEip = applyPatch(config, [
      create(PatchOperationSchema, { operation: { case: 'putEip', value: eip } }),
    ]);
    if (Array.isArray(withEip)) throw new Error('the EIP patch was refused');
    const second = render(withEip.config, facts);
    t.equal(second.dns, first.dns, 'an EIP leaves the DNS plan as it was: the same object');
    t.equal(second.dhcp, first.dhcp, 'and the DHCP plan');
    t.equal(second.firewall, first.firewall, 'and the firewall model');
    t.not(second.nat, first.nat, 'the NAT plan is rendered again');

    const network = withEip.config.networks[0];
    if (network === undefined) throw new Error('the lab config has no network');
    const host = create(HostSchema, {
      id: 'h-reuse',
      mac: '52:54:00:aa:00:99',
      ip: '10.1.0.99',
      hostname: 'reused',
    });
    const put = create(HostInNetworkSchema, { networkId: network.id, host });
    const withHost = applyPatch(withEip.config, [
      create(PatchOperationSchema, { operation: { case: 'putHost', value: put } }),
    ]);
    if (Array.isArray(withHost)) throw new Error('the host patch was refused');
    const third = render(withHost.config, facts);
    t.not(third.dns, second.dns, 'a new host renders the DNS plan again');
    t.match(third.dns.records, /reused/, 'with its name');
    t.not(third.dhcp, second.dhcp, 'and the DHCP plan');

    const fresh = render(withHost.config, { links: linksOf(withHost.config) });
    t.same(fresh, third, 'new link facts render anew, to the same plans');
  },
);

t.test('reusingLast runs the renderer again when any input differs', async (t) => {
  let runs = 0;
  const doubled = reusingLast(
    (a: { n: number }, b: string) => [a, b],
    (a: { n: number }, b: string) => {
      runs++;
      return `${b}${a.n * 2}`;
    },
  );
  const one = { n: 1 };
  t.equal(doubled(one, 'x'), 'x2');
  t.equal(doubled(one, 'x'), 'x2');
  t.equal(runs, 1, 'the same inputs: reused');
  t.equal(doubled({ n: 1 }, 'x'), 'x2');
  t.equal(runs, 2, 'an equal but other object: rendered again');
  t.equal(doubled(one, 'y'), 'y2');
  t.equal(runs, 3, 'another value: rendered again');
});

t.test('the DNS server takes an equal plan rendered anew as the one it holds', async (t) => {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const server = new DnsServer(quiet);
  const config = labConfig();
  const links = linksOf(config);
  const interfaces = planInterfaces(config, links);
  const held = server.current;
  t.ok(server.holds(held), 'the plan it holds');
  const plan = REUSED_RENDERERS.dns.render(config, interfaces);
  t.notOk(server.holds(plan), 'another plan: not held');
  t.equal(server.current, held, 'and it keeps the one it had');
  const equal = structuredClone(held);
  t.ok(server.holds(equal), 'an equal plan: held');
  t.equal(server.current, equal, 'and from now on that object is the one it holds');
});
