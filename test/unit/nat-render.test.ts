// Rendering of the NAT sets: the lab NAT config against a golden file, and sets derived from the
// previous render by a Patch equal to a fresh render of the patched config (content and delta).
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import t from 'tap';
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import { EipSchema, PortForwardSchema, VipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { ObjectKind, PatchOperationSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { planTransaction } from '../../daemon/src/nft/commands.js';
import type { NftRuleset, NftSet } from '../../daemon/src/nft/model.js';
import { render } from '../../daemon/src/reconcile/rendered.js';
import { hashCapacity } from '../../daemon/src/services/nat/render.js';
import { LAB_LINK_FACTS, natConfig } from '../lab/nat-helpers.js';
import { REPO_ROOT } from '../lab/lab-config.js';

const facts = LAB_LINK_FACTS;
const GOLDEN = `${REPO_ROOT}test/unit/golden/nat-ruleset.json`;

void t.test('the NAT table of the lab NAT config matches the golden file', (t) => {
  const { commands } = planTransaction(render(natConfig(), facts).nft, { tables: [] }, 'replace');
  const text = `${JSON.stringify({ nftables: commands }, null, 1)}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, text);
  t.equal(text, readFileSync(GOLDEN, 'utf8'), 'set UPDATE_GOLDEN=1 to accept a deliberate change');
  t.end();
});

void t.test('every NAT element names the object it exists for', (t) => {
  const config = natConfig();
  const ids = new Set([
    ...config.eips.map((e) => `eip:${e.id}`),
    ...config.portForwards.map((p) => `port_forward:${p.id}`),
    ...config.snats.map((s) => `snat:${s.id}`),
    ...config.networks.map((n) => `network:${n.id}`),
  ]);
  const table = render(config, facts).nft.tables.find((tb) => tb.name === 'vrouter_nat');
  const elements = table?.sets.flatMap((s) => s.elements.map((e) => [s.name, e.key] as const)) ?? [];
  t.ok(elements.length > 20, 'the lab NAT config fills the sets');
  const owners = new Set<string>();
  for (const [set, key] of elements) {
    const comment = (key as { elem?: { comment?: unknown } }).elem?.comment;
    t.ok(typeof comment === 'string' && ids.has(comment), `${set} ${JSON.stringify(key)}`);
    owners.add(String(comment));
  }
  t.same([...owners].sort(), [...ids].sort(), 'each EIP, forward, SNAT and network owns elements');
  t.end();
});

void t.test('the VIP plan holds the /32 VIPs, not the NIC address', (t) => {
  const vips = render(natConfig(), facts).interfaces.vips.all();
  t.same(
    vips.map((v) => `${v.link} ${v.ip}`),
    ['ens5 203.0.113.10', 'ens5 203.0.113.20', 'ens5 203.0.113.30'],
  );
  t.end();
});

const sizes = (r: NftRuleset) => r.tables.flatMap((tb) => tb.sets.map((s) => [s.name, s.size]));

const sets = (r: NftRuleset) =>
  new Map(
    r.tables
      .flatMap((tb) => tb.sets)
      .map((s: NftSet) => [s.name, s.elements.map((e) => JSON.stringify(e)).sort()]),
  );

/** The NAT config with `count` EIPs (on a wider public subnet and network A), no port forwards. */
function manyEips(count: number): RouterConfig {
  const config = natConfig();
  const pub = config.nics.find((n) => n.id === 'pub0');
  const netA = config.networks.find((n) => n.id === 'net-a');
  if (pub === undefined || netA === undefined) throw new Error('the NAT config changed');
  pub.addresses = [...pub.addresses, '100.64.0.1/16'];
  netA.cidr = '10.1.0.0/16';
  config.portForwards = [];
  const ip = (base: number, i: number) => `${base >> 8}.${base & 255}.${(i >> 8) & 255}.${i & 255}`;
  const last = count + 2 - config.eips.length;
  for (let i = 2; i < last; i++) {
    config.vips.push(create(VipSchema, { id: `big${i}`, ip: ip(100 * 256 + 64, i), nicId: 'pub0' }));
    config.eips.push(
      create(EipSchema, { id: `bige${i}`, vipId: `big${i}`, privateIp: ip(10 * 256 + 1, i + 256) }),
    );
  }
  return config;
}

const operation = fc.oneof(
  fc.record({ n: fc.integer({ min: 0, max: 5 }) }).map(({ n }) =>
    create(PatchOperationSchema, {
      operation: {
        case: 'putVip',
        value: create(VipSchema, { id: `x${n}`, ip: `203.0.113.${150 + n}`, nicId: 'pub0' }),
      },
    }),
  ),
  fc.record({ n: fc.integer({ min: 0, max: 5 }), ip: fc.integer({ min: 20, max: 25 }) }).map(({ n, ip }) =>
    create(PatchOperationSchema, {
      operation: {
        case: 'putEip',
        value: create(EipSchema, { id: `xe${n}`, vipId: `x${n}`, privateIp: `10.1.0.${ip}` }),
      },
    }),
  ),
  fc
    .record({
      n: fc.integer({ min: 0, max: 5 }),
      port: fc.integer({ min: 100, max: 110 }),
      len: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 1 }),
    })
    .map(({ n, port, len, to }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'putPortForward',
          value: create(PortForwardSchema, {
            id: `xp${n}`,
            vipId: 'v-pf',
            protocol: TransportProtocol.UDP,
            vipPorts: { start: port * 10, end: port * 10 + len },
            privateIp: '10.2.0.20',
            ...(to === 1 && { privatePorts: { start: 3000, end: 3000 + len } }),
            allowedSourceCidrs: n % 2 === 0 ? ['198.51.100.0/24'] : [],
          }),
        },
      }),
    ),
  fc
    .record({
      kind: fc.constantFrom(ObjectKind.VIP, ObjectKind.EIP, ObjectKind.PORT_FORWARD),
      n: fc.integer({ min: 0, max: 5 }),
    })
    .map(({ kind, n }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'delete',
          value: { kind, id: `${kind === ObjectKind.VIP ? 'x' : kind === ObjectKind.EIP ? 'xe' : 'xp'}${n}` },
        },
      }),
    ),
);

void t.test(
  'a render derived by Patches equals a fresh render, and its delta moves the kernel there',
  (t) => {
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: 30 }), (ops) => {
        let config: RouterConfig = natConfig();
        let previous = render(config, facts);
        for (const op of ops) {
          const patched = applyPatch(config, [op]);
          if (Array.isArray(patched) || validateConfig(patched.config).length > 0) continue;
          const derived = render(patched.config, facts);
          const fresh = render(structuredClone(patched.config), facts);
          if (JSON.stringify([...sets(derived.nft)]) !== JSON.stringify([...sets(fresh.nft)])) return false;
          if (JSON.stringify(sizes(derived.nft)) !== JSON.stringify(sizes(fresh.nft))) return false;
          // Replaying the element commands of the delta on the previous content gives the new content.
          const { commands } = planTransaction(derived.nft, previous.nft, 'diff');
          const content = sets(previous.nft);
          for (const c of commands) {
            const body = (c['add'] ?? c['delete']) as
              { element?: { name: string; elem: unknown[] } } | undefined;
            const el = body?.element;
            if (el === undefined) return false;
            const list = content.get(el.name) ?? [];
            const keys = el.elem.map((e) => JSON.stringify(Array.isArray(e) ? (e as unknown[])[0] : e));
            const next =
              'add' in c
                ? [
                    ...list,
                    ...el.elem.map((e) =>
                      JSON.stringify(
                        Array.isArray(e)
                          ? { key: (e as unknown[])[0], value: (e as unknown[])[1] }
                          : { key: e },
                      ),
                    ),
                  ]
                : list.filter((x) => !keys.includes(JSON.stringify((JSON.parse(x) as { key: unknown }).key)));
            content.set(el.name, next.sort());
          }
          if (JSON.stringify([...content]) !== JSON.stringify([...sets(fresh.nft)])) return false;
          // Re-render with the fresh config so the next step derives from a committed-like state.
          config = patched.config;
          previous = render(config, facts);
        }
        return true;
      }),
      { numRuns: 200 },
    );
    t.pass('200 random Patch sequences');
    t.end();
  },
);

void t.test('hash sets are sized with room; a Patch that outgrows the size reloads the table', (t) => {
  t.same(
    [1, 32_768, 32_769, 65_536, 65_537].map(hashCapacity),
    [65_536, 65_536, 131_072, 131_072, 262_144],
    'the size only grows past 32k elements, and stays twice the next power of two',
  );
  // 32,768 EIPs: one more needs the next size.
  const full = manyEips(32_768);
  const eipDnat = (r: ReturnType<typeof render>) =>
    r.nft.tables.flatMap((tb) => tb.sets).find((s) => s.name === 'eip_dnat');
  const before = render(full, facts);
  t.equal(eipDnat(before)?.elements.length, 32_768);
  t.equal(eipDnat(before)?.size, 65_536);
  const grow = applyPatch(full, [
    create(PatchOperationSchema, {
      operation: {
        case: 'putVip',
        value: create(VipSchema, { id: 'one-more', ip: '100.64.200.1', nicId: 'pub0' }),
      },
    }),
    create(PatchOperationSchema, {
      operation: {
        case: 'putEip',
        value: create(EipSchema, { id: 'one-more', vipId: 'one-more', privateIp: '10.1.200.1' }),
      },
    }),
  ]);
  if (Array.isArray(grow)) throw new Error(grow[0]?.description);
  const grown = render(grow.config, facts);
  t.ok(eipDnat(grown)?.delta, 'derived from the last render by the Patch');
  t.equal(eipDnat(grown)?.size, 131_072, 'the set derived by the Patch has the next size');
  t.equal(eipDnat(render(structuredClone(grow.config), facts))?.size, 131_072, 'as a fresh render counts');
  t.ok(planTransaction(grown.nft, before.nft, 'diff').structural, 'the table is loaded whole');
  const back = render(full, facts);
  t.equal(eipDnat(back)?.size, 65_536, 'and shrinks back when the EIP goes');
  t.end();
});

void t.test('renders derived by Patches do not keep earlier generations alive', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let config = natConfig();
  let rendered = render(config, facts);
  const first = new WeakRef(
    rendered.nft.tables.flatMap((tb) => tb.sets).find((s) => s.name === 'eip_dnat') ?? {},
  );
  const firstPlan = new WeakRef(rendered.nat);
  for (let i = 0; i < 4; i++) {
    const eip = create(EipSchema, { id: 'e-more', vipId: 'v-eip', privateIp: `10.1.0.${30 + i}` });
    const patched = applyPatch(config, [
      create(PatchOperationSchema, { operation: { case: 'putEip', value: eip } }),
    ]);
    if (Array.isArray(patched)) throw new Error(patched[0]?.description);
    config = patched.config;
    rendered = render(config, facts);
    t.ok(
      rendered.nft.tables.some((tb) => tb.sets.some((s) => s.delta !== undefined)),
      `Patch ${i} derived`,
    );
    // WeakRefs hold their targets until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
  }
  gc();
  t.equal(first.deref(), undefined, 'the first generation’s EIP map was collected');
  t.equal(firstPlan.deref(), undefined, 'and so was its NAT mapping plan');
  t.ok(rendered.nat.all().length > 0, 'the last render is whole');
});

void t.test('what a Patch renders dies young: the young-generation GC promotes none of it', async (t) => {
  // A rendered object that outlives a scavenge while dead (a getter's AccessorPair lives in the old
  // generation) keeps what it points to alive through each scavenge: then every Patch's config and sets
  // move to the old generation, the scavenges take longer, and only a full GC frees them.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
  let config = manyEips(5_000);
  let rendered = render(config, facts);
  const eip = create(EipSchema, { id: 'e-more', vipId: 'v-eip', privateIp: '10.1.0.30' });
  const put = [create(PatchOperationSchema, { operation: { case: 'putEip', value: eip } })];
  const remove = [
    create(PatchOperationSchema, {
      operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: 'e-more' } },
    }),
  ];
  const oldSpace = () =>
    v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
  gc();
  const before = oldSpace();
  const patches = 300;
  for (let i = 0; i < patches; i++) {
    const patched = applyPatch(config, i % 2 === 0 ? put : remove);
    if (Array.isArray(patched)) throw new Error(patched[0]?.description);
    config = patched.config;
    rendered = render(config, facts);
  }
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  const promoted = oldSpace() - before;
  // Each Patch's EIP list alone is 40 KB: promoting them all would be 12 MB.
  t.ok(promoted < 2 ** 21, `${(promoted / 2 ** 20).toFixed(1)} MB promoted by ${patches} Patches`);
  const eipDnat = rendered.nft.tables.flatMap((tb) => tb.sets).find((s) => s.name === 'eip_dnat');
  t.equal(eipDnat?.elements.length, 5_000, 'the last render is whole');
});
