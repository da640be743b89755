import t from 'tap';
import fc from 'fast-check';
import { planTransaction } from '../../daemon/src/nft/commands.js';
import type { NftRuleset, NftTable } from '../../daemon/src/nft/model.js';
import { renderRuleset } from '../../daemon/src/services/ruleset/render.js';
import { EMPTY_INTERFACE_PLAN } from '../../daemon/src/services/interfaces/plan.js';
import { labConfig } from '../lab/lab-config.js';
import { golden } from './golden.js';

const table = (over: Partial<NftTable> = {}): NftTable => ({
  family: 'ip',
  name: 't',
  chains: [
    {
      name: 'pre',
      hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
      rules: [{ expr: [{ jump: { target: 'eips' } }], comment: 'base' }],
    },
    { name: 'eips', rules: [] },
  ],
  sets: [
    {
      name: 'eip',
      type: 'ipv4_addr',
      map: 'ipv4_addr',
      elements: [{ key: '203.0.113.10', value: '10.1.0.11' }],
    },
  ],
  ...over,
});
const ruleset = (...tables: NftTable[]): NftRuleset => ({ tables });

t.test('the base ruleset loads as one transaction (golden)', async (t) => {
  const plan = planTransaction(renderRuleset(labConfig(), EMPTY_INTERFACE_PLAN), { tables: [] }, 'diff');
  t.ok(plan.structural);
  const { actual, expected } = golden('base-ruleset-load.json', { nftables: plan.commands });
  t.equal(actual, expected);
});

t.test('nothing changed: no commands', async (t) => {
  const plan = planTransaction(ruleset(table()), ruleset(table()), 'diff');
  t.same(plan, { commands: [], structural: false });
});

t.test('one element more: one element command, not structural', async (t) => {
  const next = table({
    sets: [
      {
        name: 'eip',
        type: 'ipv4_addr',
        map: 'ipv4_addr',
        elements: [
          { key: '203.0.113.10', value: '10.1.0.11' },
          { key: '203.0.113.11', value: '10.1.0.12' },
        ],
      },
    ],
  });
  const plan = planTransaction(ruleset(next), ruleset(table()), 'diff');
  t.same(plan, {
    structural: false,
    commands: [
      { add: { element: { family: 'ip', table: 't', name: 'eip', elem: [['203.0.113.11', '10.1.0.12']] } } },
    ],
  });
});

t.test('a changed map value is deleted and added in the same transaction', async (t) => {
  const next = table({
    sets: [
      {
        name: 'eip',
        type: 'ipv4_addr',
        map: 'ipv4_addr',
        elements: [{ key: '203.0.113.10', value: '10.1.0.99' }],
      },
    ],
  });
  const plan = planTransaction(ruleset(next), ruleset(table()), 'diff');
  t.same(plan.commands, [
    { delete: { element: { family: 'ip', table: 't', name: 'eip', elem: ['203.0.113.10'] } } },
    { add: { element: { family: 'ip', table: 't', name: 'eip', elem: [['203.0.113.10', '10.1.0.99']] } } },
  ]);
});

t.test(
  'changed rules flush and refill only their chain; a removed chain is flushed then deleted',
  async (t) => {
    const next = table({
      chains: [
        {
          name: 'pre',
          hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
          rules: [{ expr: [{ accept: null }], comment: 'base' }],
        },
        { name: 'fresh', rules: [{ expr: [{ drop: null }], comment: 'x:1' }] },
      ],
    });
    const plan = planTransaction(ruleset(next), ruleset(table()), 'diff');
    t.ok(plan.structural);
    t.same(plan.commands, [
      { flush: { chain: { family: 'ip', table: 't', name: 'pre' } } },
      { flush: { chain: { family: 'ip', table: 't', name: 'eips' } } },
      { add: { chain: { family: 'ip', table: 't', name: 'fresh' } } },
      {
        add: { rule: { family: 'ip', table: 't', chain: 'pre', expr: [{ accept: null }], comment: 'base' } },
      },
      { add: { rule: { family: 'ip', table: 't', chain: 'fresh', expr: [{ drop: null }], comment: 'x:1' } } },
      { delete: { chain: { family: 'ip', table: 't', name: 'eips' } } },
    ]);
  },
);

t.test('a set whose type changes, or a base chain whose hook changes, replaces the table', async (t) => {
  const retyped = table({ sets: [{ name: 'eip', type: 'ipv4_addr', elements: [] }] });
  const plan = planTransaction(ruleset(retyped), ruleset(table()), 'diff');
  t.same(plan.commands.slice(0, 3), [
    { add: { table: { family: 'ip', name: 't' } } },
    { delete: { table: { family: 'ip', name: 't' } } },
    { add: { table: { family: 'ip', name: 't' } } },
  ]);
});

t.test('replace mode loads every table whole and drops tables no longer desired', async (t) => {
  const other: NftTable = { family: 'inet', name: 'gone', chains: [], sets: [] };
  const plan = planTransaction(ruleset(table()), ruleset(table(), other), 'replace');
  t.same(
    plan.commands.slice(0, 3).map((c) => Object.keys(c)[0]),
    ['add', 'delete', 'add'],
  );
  t.same(plan.commands.slice(-2), [
    { add: { table: { family: 'inet', name: 'gone' } } },
    { delete: { table: { family: 'inet', name: 'gone' } } },
  ]);
});

t.test(
  'rules rendered anew are compared by value: a chain is refilled exactly when they differ',
  async (t) => {
    // Keys sorted: the order of an object's keys is not a difference the kernel sees.
    const canonical = (v: unknown): string =>
      JSON.stringify(v, (_, x: unknown) =>
        x !== null && typeof x === 'object' && !Array.isArray(x)
          ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
          : x,
      );
    const withRule = (value: unknown) =>
      table({
        chains: [
          {
            name: 'pre',
            hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
            rules: [{ expr: [value], comment: 'r' }],
          },
        ],
      });
    const seen = { refilled: 0, kept: 0 };
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.boolean(), (a, b, same) => {
        const other = same ? (JSON.parse(JSON.stringify(a)) as unknown) : b;
        const plan = planTransaction(ruleset(withRule(other)), ruleset(withRule(a)), 'diff');
        const refilled = plan.commands.some((c) => 'flush' in c);
        seen[refilled ? 'refilled' : 'kept']++;
        return refilled === (canonical(a) !== canonical(other));
      }),
    );
    t.ok(seen.refilled > 0 && seen.kept > 0, `both met (${seen.refilled} refilled, ${seen.kept} kept)`);
  },
);
